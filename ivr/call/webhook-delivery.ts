import type { AuditLog } from '../../store/audit-log.js';
import type { Actor } from '../../domain/actor.js';

/** How hard a webhook is tried, and where each try is audited. */
export interface WebhookDeliveryOptions {
  /** Where every attempt is audited. */
  readonly audit: AuditLog;
  /** Who the audit rows name. */
  readonly actor: Actor;
  /** One try may take this long. Default 2000 ms. */
  readonly attemptTimeoutMs?: number;
  /** First back-off; doubles each retry, capped at 2 s. Default 200 ms. */
  readonly retryBaseDelayMs?: number;
  /** Give up after this long in all. Default 20 000 ms. */
  readonly giveUpAfterMs?: number;
}

/** One webhook to deliver. */
export interface WebhookPost {
  readonly url: string;
  /** The JSON body, sent as is on every try. */
  readonly body: string;
  /** Extra headers, made again for each try (a signature's timestamp is the try's). */
  readonly headers?: () => Record<string, string>;
  /** The audit row of each try: its session, action, and detail beside `attempt` and `status` or `error`. */
  readonly sessionId: string | null;
  readonly auditAction: string;
  readonly auditDetail?: Record<string, unknown>;
  /** Told of each failed try before the wait for the next. */
  readonly onRetry?: (reason: string) => void;
}

/** The receiver did not take the webhook before the give-up time. */
export class WebhookUndeliveredError extends Error {
  override readonly name = 'WebhookUndeliveredError';
  constructor(readonly reason: string) {
    super(`webhook not delivered (${reason})`);
  }
}

/**
 * POSTs `post.body` until the receiver answers 2xx, backing off between
 * tries; each try is one audit row.
 * @throws WebhookUndeliveredError when the give-up time would pass before the next try
 */
export async function deliverWebhook(post: WebhookPost, options: WebhookDeliveryOptions): Promise<void> {
  const { audit, actor } = options;
  const deadline = Date.now() + (options.giveUpAfterMs ?? 20_000);
  let delay = options.retryBaseDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    let reason: string;
    try {
      const res = await fetch(post.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...post.headers?.() },
        body: post.body,
        signal: AbortSignal.timeout(options.attemptTimeoutMs ?? 2000),
      });
      await res.body?.cancel();
      await audit.append({ sessionId: post.sessionId, actor, action: post.auditAction, detail: { attempt, status: res.status, ...post.auditDetail } });
      if (res.ok) return;
      reason = `HTTP ${res.status}`;
    } catch (err) {
      reason = (err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
      await audit.append({ sessionId: post.sessionId, actor, action: post.auditAction, detail: { attempt, error: reason, ...post.auditDetail } });
    }
    if (Date.now() + delay > deadline) throw new WebhookUndeliveredError(reason);
    post.onRetry?.(reason);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 2000);
  }
}
