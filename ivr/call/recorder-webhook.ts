import type { AuditLog } from '../../store/audit-log.js';
import type { Actor } from '../../domain/actor.js';
import type { CallRecording } from './leg-call-media.js';

export interface RecorderWebhookOptions {
  /** RECORDER_WEBHOOK_URL: receives POST {action: pause|resume, callId, sessionId, at}. */
  readonly url: string;
  /** Where every attempt is audited. */
  readonly audit: AuditLog;
  /** One try may take this long. Default 2000 ms. */
  readonly attemptTimeoutMs?: number;
  /** First back-off; doubles each retry, capped at 2 s. Default 200 ms. */
  readonly retryBaseDelayMs?: number;
  /** Give up after this long in all. Default 20 000 ms. */
  readonly giveUpAfterMs?: number;
  /** Told of each failed try while the call waits (the agent is told the recorder is not paused yet). */
  readonly onRetry?: (retry: RecorderRetry) => void;
}

export interface RecorderRetry {
  readonly action: 'pause' | 'resume';
  readonly reason: string;
  readonly callId: string;
  readonly sessionId: string | undefined;
}

/** The external recorder could not be paused or resumed in time. */
export class RecorderUnavailableError extends Error {
  override readonly name = 'RecorderUnavailableError';
}

const ACTOR: Actor = { kind: 'system', id: 'recorder-webhook' };

/**
 * Drives a contact centre's own call recorder by HTTP webhook: pause before
 * the first card prompt, resume after the last card field (ARCHITECTURE.md
 * "Capture rules"). Every attempt is in the audit trail; a pause that cannot
 * be confirmed holds the capture back rather than record card tones.
 */
export class RecorderWebhook {
  readonly #options: RecorderWebhookOptions;

  constructor(options: RecorderWebhookOptions) {
    this.#options = options;
  }

  /**
   * Start-up recovery: the process died with this call's recorder paused.
   * The call is gone with the process, but the contact centre's recording of
   * it may not be: resume, retried like any resume, marked `recovered`.
   */
  resumeAfterCrash(callId: string, sessionId: string): Promise<void> {
    return this.#send('resume', callId, sessionId, { recovered: true });
  }

  /** The CallRecording of one call. */
  forCall(callId: string, sessionId: () => string | undefined): CallRecording {
    return {
      pause: () => this.#send('pause', callId, sessionId()),
      resume: () => this.#send('resume', callId, sessionId()),
    };
  }

  async #send(action: 'pause' | 'resume', callId: string, sessionId: string | undefined, extra: { recovered?: true } = {}): Promise<void> {
    const { url, audit } = this.#options;
    const deadline = Date.now() + (this.#options.giveUpAfterMs ?? 20_000);
    let delay = this.#options.retryBaseDelayMs ?? 200;
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ action, callId, sessionId: sessionId ?? null, at: new Date().toISOString(), ...extra }),
          signal: AbortSignal.timeout(this.#options.attemptTimeoutMs ?? 2000),
        });
        await res.body?.cancel();
        await audit.append({ sessionId: sessionId ?? null, actor: ACTOR, action: `recorder-${action}`, detail: { attempt, status: res.status, ...extra } });
        if (res.ok) return;
        reason = `HTTP ${res.status}`;
      } catch (err) {
        reason = (err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
        await audit.append({ sessionId: sessionId ?? null, actor: ACTOR, action: `recorder-${action}`, detail: { attempt, error: reason, ...extra } });
      }
      if (Date.now() + delay > deadline) throw new RecorderUnavailableError(`recorder did not confirm ${action} (${reason})`);
      this.#options.onRetry?.({ action, reason, callId, sessionId });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}

/** Several recorders as one: pause confirms when all have; resume tries all. */
export function allRecordings(recordings: readonly CallRecording[]): CallRecording {
  return {
    pause: async () => {
      await Promise.all(recordings.map((r) => r.pause()));
    },
    resume: async () => {
      const results = await Promise.allSettled(recordings.map((r) => r.resume()));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    },
  };
}
