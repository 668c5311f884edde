import type { Actor } from '../../domain/actor.js';
import type { CallRecording } from './leg-call-media.js';
import { deliverWebhook, WebhookUndeliveredError, type WebhookDeliveryOptions } from './webhook-delivery.js';

/** The audit log and tries of WebhookDeliveryOptions (audited as the recorder webhook), and: */
export interface RecorderWebhookOptions extends Omit<WebhookDeliveryOptions, 'actor'> {
  /** RECORDER_WEBHOOK_URL: receives POST {action: pause|resume, callId, sessionId, at}. */
  readonly url: string;
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
    const { url, onRetry } = this.#options;
    try {
      await deliverWebhook(
        {
          url,
          body: JSON.stringify({ action, callId, sessionId: sessionId ?? null, at: new Date().toISOString(), ...extra }),
          sessionId: sessionId ?? null,
          auditAction: `recorder-${action}`,
          auditDetail: extra,
          ...(onRetry ? { onRetry: (reason: string) => onRetry({ action, reason, callId, sessionId }) } : {}),
        },
        { ...this.#options, actor: ACTOR },
      );
    } catch (err) {
      if (err instanceof WebhookUndeliveredError) throw new RecorderUnavailableError(`recorder did not confirm ${action} (${err.reason})`);
      throw err;
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
