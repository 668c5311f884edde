import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';

/** One request as the fake PSP received it, for the tests' card-data checks. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  /** The raw query string (after `?`), or ''. */
  readonly query: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What a route answers: a status and a JSON body, or `hold` to never answer (the connection is closed at `close()`). */
export type FakeAnswer = { readonly status: number; readonly body: unknown; readonly headers?: Record<string, string> } | 'hold';

/** A fault a test injects: the next matching request gets this status before the PSP does anything (nothing is saved). */
export interface InjectedFault {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

/**
 * The HTTP plumbing the local fake PSPs share: one loopback server, a log of
 * every request, faults injected ahead of the routes, and held answers that
 * never come. The fakes never print a request: the log is for assertions.
 */
export class FakePspServer {
  readonly requests: ReceivedRequest[] = [];
  readonly #faults: InjectedFault[] = [];
  readonly #held = new Set<ServerResponse>();
  #server: Server | undefined;
  #url = '';

  constructor(readonly handle: (request: ReceivedRequest) => FakeAnswer | Promise<FakeAnswer>) {}

  get url(): string {
    return this.#url;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.#serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.#url;
  }

  /** The next `count` requests to `method path` (path prefix) fail with `status`, before anything is done. */
  failNext(method: string, path: string, ...statuses: number[]): void {
    for (const status of statuses) this.#faults.push({ method, path, status });
  }

  /** Requests received for `method path` (exact path). */
  received(method: string, path: string | RegExp): ReceivedRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  async close(): Promise<void> {
    for (const res of this.#held) res.destroy();
    this.#held.clear();
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const request: ReceivedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.slice(1),
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(request);
    const fault = this.#faults.findIndex((f) => f.method === request.method && request.path.startsWith(f.path));
    let answer: FakeAnswer;
    if (fault >= 0) {
      const { status } = this.#faults.splice(fault, 1)[0]!;
      answer = { status, body: faultBody(status), headers: status === 429 ? { 'retry-after': '0' } : {} };
    } else {
      try {
        answer = await this.handle(request);
      } catch (err) {
        answer = { status: 500, body: { error: { type: 'api_error', message: `fake: ${(err as Error).message}` } } };
      }
    }
    if (answer === 'hold') {
      this.#held.add(res);
      res.on('close', () => this.#held.delete(res));
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(JSON.stringify(answer.body));
  }
}

function faultBody(status: number): unknown {
  // Both Stripe's and Adyen's error bodies carry these names; the adapters read the status.
  return status === 429
    ? { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' }, status, errorCode: '429', errorType: 'throttled', message: 'Too many requests' }
    : { error: { type: 'api_error', message: 'Something went wrong' }, status, errorCode: String(status), errorType: 'internal', message: 'Internal error' };
}

/** The problem to report, as a path and a message: an unknown field first (both PSPs name it before anything missing). */
export function firstIssue(error: z.ZodError): { path: string[]; code: string; message: string; keys: string[] } {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]!;
  return {
    path: issue.path.map(String),
    code: issue.code,
    message: issue.message,
    keys: issue.code === 'unrecognized_keys' ? issue.keys : [],
  };
}

/** Random letters and digits, for PSP ids. */
export function randomId(length: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'): string {
  let id = '';
  for (let i = 0; i < length; i++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}
