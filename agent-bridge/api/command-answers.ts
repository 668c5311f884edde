import type { Response } from 'express';
import type { AgentCommand } from '../../ivr/flow/flow-types.js';
import type { CommandDelivery } from './api-routes.js';

/**
 * The REST answer to an agent command that was not applied: 409 when no call
 * is on the session (`notJoined` names it) or the flow refused it, 504 when
 * the node holding the call did not answer in time (nothing was applied,
 * nor will be). Each says `applied: false`.
 */
export function answerUndelivered(res: Response, delivery: CommandDelivery, notJoined: string): void {
  switch (delivery.outcome) {
    case 'rejected':
      res.status(409).json({ error: 'command-rejected', message: delivery.reason, applied: false });
      return;
    case 'unanswered':
      res.status(504).json({ error: 'node-not-answering', node: delivery.node ?? null, applied: false });
      return;
    default:
      res.status(409).json({ error: notJoined, applied: false });
  }
}

/** What the 202 answer says of an applied command: which, and on which node when another holds the call. */
export function commandJson(command: AgentCommand, delivery: CommandDelivery): Record<string, unknown> {
  return { type: command.type, ...('field' in command ? { field: command.field } : {}), applied: true, node: delivery.node ?? null };
}
