import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST the receiver took (answered 2xx). */
export interface ReceivedCallback {
  readonly id: string;
  /** The signature checked out against the key, by the Standard Webhooks rule. */
  readonly signatureValid: boolean;
  readonly rawBody: string;
  readonly body: { type: string; sessionId: string; seq: number; at: string; event: { type: string; [k: string]: unknown } };
}

/**
 * A status callback receiver as a merchant would write one, on 127.0.0.1:
 * verifies each POST's signature as standardwebhooks.com describes it
 * (HMAC-SHA-256 of `webhook-id.webhook-timestamp.body`, `v1,<base64>`,
 * compared in constant time), and can be told to refuse the next tries.
 */
export class StatusCallbackReceiver {
  readonly received: ReceivedCallback[] = [];
  /** Every try, refused ones too. */
  tries = 0;
  /** Answer this many next tries with 503. */
  refuseNext = 0;
  #server: Server | undefined;
  url = '';

  constructor(private readonly key: () => Buffer) {}

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => {
        this.tries++;
        if (this.refuseNext > 0) {
          this.refuseNext--;
          res.writeHead(503).end();
          return;
        }
        const id = String(req.headers['webhook-id']);
        this.received.push({ id, signatureValid: this.#verify(req.headers, raw), rawBody: raw, body: JSON.parse(raw) as ReceivedCallback['body'] });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/status`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }

  #verify(headers: IncomingHttpHeaders, raw: string): boolean {
    const id = headers['webhook-id'];
    const timestamp = Number(headers['webhook-timestamp']);
    const signatures = String(headers['webhook-signature'] ?? '').split(' ');
    // The spec's replay guard: a timestamp more than five minutes off is refused.
    if (typeof id !== 'string' || !Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > 300) return false;
    const expected = createHmac('sha256', this.key()).update(`${id}.${timestamp}.${raw}`).digest();
    return signatures.some((s) => {
      const [version, value] = s.split(',');
      const given = Buffer.from(value ?? '', 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
  }
}
