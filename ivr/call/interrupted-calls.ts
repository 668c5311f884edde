import type { PaymentSessionRecord, PaymentStore } from '../../store/payment-store.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { Actor } from '../../domain/actor.js';

export interface InterruptedRecording {
  readonly callId: string;
  readonly closedOpenPause: boolean;
}

export interface InterruptedCallsReport {
  /** Sessions whose call died with the process mid-capture: now `abandoned`. */
  readonly abandoned: readonly string[];
  /** Sessions that were about to authorise but never wrote an intent: never charged, now `error`. */
  readonly neverAuthorised: readonly string[];
  /**
   * Interrupted calls whose external recorder was last told to pause (the
   * audit trail has a `recorder-pause` after any `recorder-resume`): it must
   * be told to resume, or the rest of the contact centre's recording is lost.
   */
  readonly recorderLeftPaused: readonly { readonly sessionId: string; readonly callId: string }[];
}

const ACTOR: Actor = { kind: 'system', id: 'crash-recovery' };

/**
 * After a crash (kill -9, power loss) no call survives: a session whose call
 * had joined and was still collecting the card is abandoned, with the state
 * of its recording in the audit trail. A session caught between "authorising"
 * and its intent was never sent to the PSP (the intent is written first), so
 * it ends in error; one with an intent is the reconciler's (in doubt, then
 * the PSP's answer). Run at start-up, before any call is taken.
 */
export async function settleInterruptedCalls(
  store: PaymentStore,
  audit: AuditLog,
  recordings: readonly InterruptedRecording[],
  /** On a database several nodes share: the NODE_ID whose sessions are settled (this node's own, or a dead node's taken over). */
  nodeId?: string,
  /** Who the audit rows name. Default: crash recovery at start-up. */
  actor: Actor = ACTOR,
): Promise<InterruptedCallsReport> {
  const mine = nodeId !== undefined ? { nodeId } : {};
  const recordingOf = new Map(recordings.map((r) => [r.callId, r]));
  const abandoned: string[] = [];
  const neverAuthorised: string[] = [];
  const joined = (s: PaymentSessionRecord): boolean => s.callId !== null;
  const interrupted = [
    ...(await store.listSessions({ status: 'capturing', limit: 1000, ...mine })),
    ...(await store.listSessions({ status: 'pending', limit: 1000, ...mine })).filter(joined),
  ];
  for (const session of interrupted) {
    const recording = session.callId ? recordingOf.get(session.callId) : undefined;
    await store.updateSession(session.id, { status: 'abandoned' });
    await audit.append({
      sessionId: session.id,
      actor,
      action: 'call-interrupted',
      detail: {
        previousStatus: session.status,
        recording: recording ? (recording.closedOpenPause ? 'closed-while-paused' : 'closed') : 'none',
      },
    });
    abandoned.push(session.id);
  }
  const authorising = await store.listSessions({ status: 'authorising', limit: 1000, ...mine });
  for (const session of authorising) {
    if ((await store.listAuthorisations({ sessionId: session.id })).length > 0) continue;
    await store.updateSession(session.id, { status: 'error' });
    await audit.append({ sessionId: session.id, actor, action: 'authorisation-never-sent', detail: {} });
    neverAuthorised.push(session.id);
  }
  // A resume still being retried when the process died counts as not sent.
  const recorderLeftPaused: { sessionId: string; callId: string }[] = [];
  for (const s of [...interrupted, ...authorising]) {
    if (s.callId !== null && (await lastRecorderAction(audit, s.id)) === 'recorder-pause') recorderLeftPaused.push({ sessionId: s.id, callId: s.callId });
  }
  return { abandoned, neverAuthorised, recorderLeftPaused };
}

async function lastRecorderAction(audit: AuditLog, sessionId: string): Promise<string | undefined> {
  // Audit rows come in sequence order; the trail of one session is short.
  return (await audit.list({ sessionId, limit: 10_000 }))
    .filter((e) => e.action === 'recorder-pause' || e.action === 'recorder-resume')
    .at(-1)?.action;
}
