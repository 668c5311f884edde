import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Authenticator, Principal } from '../identity/authenticator.js';
import type { TokenRevocations } from '../identity/token-revocations.js';
import type { ProgressFrame, ProgressHub } from './progress-hub.js';

export const STREAM_PATH = '/api/v1/stream';

/**
 * The close code for a socket whose credentials stopped counting (logout,
 * expiry). RFC 6455 §7.4.2 leaves 4000–4999 to applications; 4401 mirrors
 * HTTP 401 (as graphql-ws does), so a client can tell "sign in again" from a
 * dropped network and does not reconnect, where 1008 (policy violation)
 * would say only that something was refused.
 */
export const SIGNED_OUT_CLOSE_CODE = 4401;

export interface StreamServerOptions {
  readonly hub: ProgressHub;
  readonly authenticator: Authenticator;
  /** Logouts: the sockets of a revoked token are closed at once. */
  readonly revocations: TokenRevocations;
  /** Whether the principal may see the session (agents: their own only). */
  readonly canSee: (principal: Principal, sessionId: string) => Promise<boolean>;
  /**
   * A client that misses a heartbeat is dropped; one whose token expired or
   * was revoked by another process on the same database is closed. Default every 15 s.
   */
  readonly heartbeatMs?: number;
}

interface Client {
  readonly socket: WebSocket;
  readonly principal: Principal;
  /** One session, or undefined for every session the principal may see. */
  readonly session: string | undefined;
  alive: boolean;
  /** Sessions the principal may see, as found so far (a session's agent does not change). */
  readonly visible: Map<string, Promise<boolean>>;
  /** Frames go out one after another, each after its visibility look-up: in the order published. */
  outbox: Promise<unknown>;
  /** The frames sent, per session: a frame both replayed and published meanwhile goes out once. */
  readonly sent: Map<string, Set<number>>;
}

/**
 * The WebSocket stream of masked progress at /api/v1/stream, on agent-bridge's
 * HTTP server. `?session=<id>` follows one session, no parameter follows all
 * the client may see; `after=<seq>` (one session) or a `{"type":"resume",
 * "after":{"<session>":seq}}` message replays what a reconnecting client
 * missed. Credentials come from the Authorization header or the console's
 * cookie, never the URL; the socket is closed (SIGNED_OUT_CLOSE_CODE) when
 * they stop counting.
 */
export class StreamServer {
  readonly #options: StreamServerOptions;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  readonly #clients = new Set<Client>();
  readonly #unsubscribe: () => void;
  readonly #unsubscribeRevocations: () => void;
  readonly #heartbeat: NodeJS.Timeout;

  constructor(options: StreamServerOptions) {
    this.#options = options;
    this.#unsubscribe = options.hub.subscribe((frame) => this.#broadcast(frame));
    this.#unsubscribeRevocations = options.revocations.subscribe((tokenId) => this.#closeToken(tokenId));
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs ?? 15_000);
    this.#heartbeat.unref();
  }

  get clients(): number {
    return this.#clients.size;
  }

  attach(server: Server): void {
    server.on('upgrade', (req, socket, head) => {
      this.#upgrade(req, socket, head).catch(() => refuse(socket, 500, 'Internal Server Error'));
    });
  }

  close(): void {
    clearInterval(this.#heartbeat);
    this.#unsubscribe();
    this.#unsubscribeRevocations();
    for (const client of this.#clients) client.socket.terminate();
    this.#wss.close();
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== STREAM_PATH) {
      refuse(socket, 404, 'Not Found');
      return;
    }
    const principal = await this.#options.authenticator.authenticate(req);
    if (!principal) {
      refuse(socket, 401, 'Unauthorized');
      return;
    }
    const session = url.searchParams.get('session') ?? undefined;
    if (session !== undefined && !(await this.#options.canSee(principal, session))) {
      refuse(socket, 403, 'Forbidden');
      return;
    }
    const after = Number(url.searchParams.get('after') ?? '0');
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = { socket: ws, principal, session, alive: true, visible: new Map(), outbox: Promise.resolve(), sent: new Map() };
      this.#clients.add(client);
      ws.on('pong', () => (client.alive = true));
      ws.on('close', () => this.#clients.delete(client));
      ws.on('error', () => ws.terminate());
      ws.on('message', (data) => void this.#onMessage(client, data.toString()));
      if (session !== undefined) this.#replay(client, session, Number.isFinite(after) ? after : 0);
    });
  }

  async #onMessage(client: Client, text: string): Promise<void> {
    let message: { type?: unknown; after?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (message.type !== 'resume' || typeof message.after !== 'object' || message.after === null) return;
    for (const [sessionId, seq] of Object.entries(message.after as Record<string, unknown>)) {
      if (typeof seq !== 'number' || !(await this.#wants(client, sessionId))) continue;
      this.#replay(client, sessionId, seq);
    }
  }

  /** Sends the session's frames after `afterSeq`, in the client's outbox: before any frame published later. */
  #replay(client: Client, sessionId: string, afterSeq: number): void {
    client.outbox = client.outbox.then(async () => {
      for (const frame of await this.#options.hub.replay(sessionId, afterSeq)) sendOnce(client, frame);
    }).catch(() => undefined);
  }

  #wants(client: Client, sessionId: string): Promise<boolean> {
    if (client.session !== undefined) return Promise.resolve(client.session === sessionId);
    let visible = client.visible.get(sessionId);
    if (!visible) {
      visible = this.#options.canSee(client.principal, sessionId).catch(() => false);
      client.visible.set(sessionId, visible);
      // A no is asked again next time: the session may not be written yet.
      void visible.then((yes) => yes || client.visible.delete(sessionId));
    }
    return visible;
  }

  #broadcast(frame: ProgressFrame): void {
    for (const client of this.#clients) {
      client.outbox = client.outbox.then(async () => {
        if (await this.#wants(client, frame.sessionId)) sendOnce(client, frame);
      });
    }
  }

  #closeToken(tokenId: string): void {
    for (const client of this.#clients) {
      if (client.principal.kind === 'user' && client.principal.token.jti === tokenId) this.#signOut(client, 'token revoked');
    }
  }

  #signOut(client: Client, reason: string): void {
    this.#clients.delete(client);
    client.socket.close(SIGNED_OUT_CLOSE_CODE, reason);
  }

  #beat(): void {
    for (const client of this.#clients) {
      if (!client.alive) {
        client.socket.terminate();
        this.#clients.delete(client);
        continue;
      }
      client.alive = false;
      client.socket.ping();
      void this.#options.authenticator.stillValid(client.principal).then(
        (valid) => valid || this.#signOut(client, 'signed out'),
        () => undefined,
      );
    }
  }
}

/** Each frame goes out once on a socket. */
function sendOnce(client: Client, frame: ProgressFrame): void {
  const ws = client.socket;
  let sent = client.sent.get(frame.sessionId);
  if (!sent) client.sent.set(frame.sessionId, (sent = new Set()));
  if (sent.has(frame.seq) || ws.readyState !== ws.OPEN) return;
  sent.add(frame.seq);
  ws.send(JSON.stringify(frame));
}

function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ error: reason.toLowerCase() })}`);
}
