import { createHmac } from 'node:crypto';
import type { Actor } from '../../domain/actor.js';
import { deliverWebhook, type WebhookDeliveryOptions } from '../../ivr/call/webhook-delivery.js';
import type { ProgressFrame, ProgressHub } from './progress-hub.js';

/** The audit log and tries of WebhookDeliveryOptions (audited as the status callback), and: */
export interface StatusCallbacksOptions extends Omit<WebhookDeliveryOptions, 'actor'> {
  /** Where the masked progress events come from. */
  readonly hub: ProgressHub;
  /** The per-deployment HMAC-SHA-256 key the receivers verify with (STATUS_CALLBACK_SECRET or DATA_DIR/status-callback-key). */
  readonly key: Buffer;
}

/** The body of one status callback: a masked progress frame. */
export interface StatusCallbackBody {
  readonly type: 'payment.progress';
  readonly sessionId: string;
  /** 1, 2, 3… per session, in the order sent. */
  readonly seq: number;
  readonly at: string;
  readonly event: ProgressFrame['event'];
}

const ACTOR: Actor = { kind: 'system', id: 'status-callback' };

/**
 * The Standard Webhooks signature (standardwebhooks.com, "Signature
 * scheme"): `v1,` and the base64 HMAC-SHA-256 of `id.timestamp.body`.
 */
export function statusCallbackSignature(key: Buffer, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/**
 * POSTs each masked progress event of a watched session to its
 * `statusCallback` URL, in order, signed with the deployment's key: it
 * sends only what ProgressEvent carries (counts, brand, last four, error
 * types, result, PSP reference; PCI DSS 4.0 req. 3.4.1). Each try is
 * audited; an event the receiver never takes is given up, and the
 * session's later events are then tried once each until one gets through,
 * so a dead receiver does not hold a backlog for minutes.
 */
export class StatusCallbacks {
  readonly #options: StatusCallbacksOptions;
  readonly #urls = new Map<string, string>();
  /** Per session: the last delivery queued, and whether the receiver gave up on the one before. */
  readonly #queues = new Map<string, Promise<void>>();
  readonly #failing = new Set<string>();
  readonly #unsubscribe: () => void;

  constructor(options: StatusCallbacksOptions) {
    this.#options = options;
    this.#unsubscribe = options.hub.subscribe((frame) => this.#onFrame(frame));
  }

  /** Send `sessionId`'s events from now on to `url`, until its `ended` event. */
  watch(sessionId: string, url: string): void {
    this.#urls.set(sessionId, url);
  }

  /** Send no more of `sessionId`'s events (its payment never started). */
  forget(sessionId: string): void {
    this.#urls.delete(sessionId);
  }

  /** Settles when every event queued so far is delivered or given up. */
  async idle(): Promise<void> {
    while (this.#queues.size > 0) await Promise.all(this.#queues.values());
  }

  /** Stops taking new events; those queued are still tried. */
  close(): void {
    this.#unsubscribe();
  }

  #onFrame(frame: ProgressFrame): void {
    const url = this.#urls.get(frame.sessionId);
    if (url === undefined) return;
    if (frame.event.type === 'ended') this.#urls.delete(frame.sessionId);
    const previous = this.#queues.get(frame.sessionId) ?? Promise.resolve();
    const next = previous.then(() => this.#deliver(url, frame));
    this.#queues.set(frame.sessionId, next);
    void next.finally(() => {
      if (this.#queues.get(frame.sessionId) === next) {
        this.#queues.delete(frame.sessionId);
        if (!this.#urls.has(frame.sessionId)) this.#failing.delete(frame.sessionId);
      }
    });
  }

  async #deliver(url: string, frame: ProgressFrame): Promise<void> {
    const content: StatusCallbackBody = { type: 'payment.progress', sessionId: frame.sessionId, seq: frame.seq, at: frame.at, event: frame.event };
    const body = JSON.stringify(content);
    const id = `${frame.sessionId}-${frame.seq}`;
    const failing = this.#failing.has(frame.sessionId);
    try {
      await deliverWebhook(
        {
          url,
          body,
          headers: () => {
            const timestamp = Math.floor(Date.now() / 1000);
            return {
              'webhook-id': id,
              'webhook-timestamp': String(timestamp),
              'webhook-signature': statusCallbackSignature(this.#options.key, id, timestamp, body),
            };
          },
          sessionId: frame.sessionId,
          auditAction: 'status-callback',
          auditDetail: { seq: frame.seq, event: frame.event.type },
        },
        { ...this.#options, actor: ACTOR, ...(failing ? { giveUpAfterMs: 0 } : {}) },
      );
      this.#failing.delete(frame.sessionId);
    } catch {
      // Given up (every try is in the audit trail): the next event still goes.
      this.#failing.add(frame.sessionId);
    }
  }
}
