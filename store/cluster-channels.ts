/**
 * The PostgreSQL notification channels nodes wake each other on. A payload
 * names rows (ids), never their content: NOTIFY is neither durable nor
 * replayed, and its payload must stay under 8000 bytes (PostgreSQL docs,
 * "NOTIFY"); the row is read from its table.
 */
export const CLUSTER_CHANNELS = {
  /** `<node id> <command id>`: a command for that node's call. */
  agentCommands: 'agent_commands',
  /** `<command id>`: the command was answered (or given up). */
  agentCommandAnswers: 'agent_command_answers',
  /** `<session id> <seq>`: a progress frame was stored. */
  progressFrames: 'progress_frames',
} as const;

export type ClusterChannel = (typeof CLUSTER_CHANNELS)[keyof typeof CLUSTER_CHANNELS];
