/**
 * A client of rtpengine's ng control protocol over UDP, for the benchmark's
 * rtpengine peer and its test (not product code). Each message is a cookie,
 * a space and a dictionary; rtpengine takes the dictionary as bencode or as
 * JSON (docs/ng_control_protocol.md: "The dictionary document can be in one
 * of two formats"), and answers in the format it was asked in. JSON is used
 * here: Node encodes it, so no hand-written bencode.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

/** A request or reply dictionary (strings, numbers, lists and dictionaries). */
export type NgDictionary = { readonly [key: string]: NgValue };
export type NgValue = string | number | readonly NgValue[] | NgDictionary;

/** rtpengine answered `result: error`, or did not answer. */
export class NgCommandError extends Error {
  override readonly name = 'NgCommandError';
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`rtpengine ${command}: ${reason}`);
  }
}

export interface NgClientOptions {
  readonly host?: string;
  readonly port: number;
  /** Time to wait for a reply before sending the request again. Default 500 ms. */
  readonly retransmitMs?: number;
  /** Sends of one request before giving up. Default 4. */
  readonly attempts?: number;
}

/** What `offer` and `answer` need: the SIP dialog's identifiers and the SDP to rewrite. */
export interface NgSdpRequest {
  readonly callId: string;
  readonly fromTag: string;
  readonly toTag?: string;
  readonly sdp: string;
  /** Further keys of the dictionary (flags, replace, ICE …). */
  readonly extra?: NgDictionary;
}

/** How `block DTMF` replaces the blocked events (DTMF-security). */
export type DtmfSecurity = 'drop' | 'silence' | 'tone' | 'random' | 'zero';

export class NgClient {
  readonly #socket: Socket;
  readonly #host: string;
  readonly #port: number;
  readonly #retransmitMs: number;
  readonly #attempts: number;
  readonly #pending = new Map<string, (reply: NgDictionary) => void>();
  readonly #prefix = randomBytes(4).toString('hex');
  #next = 0;
  #closed = false;

  private constructor(socket: Socket, options: NgClientOptions) {
    this.#socket = socket;
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port;
    this.#retransmitMs = options.retransmitMs ?? 500;
    this.#attempts = options.attempts ?? 4;
    socket.on('message', (msg) => this.#onReply(msg));
  }

  static async open(options: NgClientOptions): Promise<NgClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => socket.once('error', reject).bind(0, '127.0.0.1', () => resolve()));
    return new NgClient(socket, options);
  }

  ping(): Promise<NgDictionary> {
    return this.request({ command: 'ping' }, 'pong');
  }

  /** The offer's SDP as rtpengine rewrote it (its own address and port in place of the caller's). */
  async offer(request: NgSdpRequest): Promise<string> {
    return sdpOf(await this.request({ command: 'offer', ...sdpRequest(request) }));
  }

  async answer(request: NgSdpRequest & { readonly toTag: string }): Promise<string> {
    return sdpOf(await this.request({ command: 'answer', ...sdpRequest(request) }));
  }

  /** Blocks the RFC 4733 events that the participant `fromTag` sends, replaced as `security` says. */
  blockDtmf(callId: string, fromTag: string, security: DtmfSecurity): Promise<NgDictionary> {
    return this.request({ command: 'block DTMF', 'call-id': callId, 'from-tag': fromTag, 'DTMF-security': security });
  }

  delete(callId: string): Promise<NgDictionary> {
    return this.request({ command: 'delete', 'call-id': callId });
  }

  /** Sends one command and waits for its reply, sending it again after each silent `retransmitMs`. */
  async request(dictionary: NgDictionary & { readonly command: string }, okResult = 'ok'): Promise<NgDictionary> {
    if (this.#closed) throw new NgCommandError(dictionary.command, 'client closed');
    const cookie = `${this.#prefix}_${this.#next++}`;
    const datagram = Buffer.from(`${cookie} ${JSON.stringify(dictionary)}`);
    const reply = new Promise<NgDictionary>((resolve) => this.#pending.set(cookie, resolve));
    let answered: NgDictionary | undefined;
    void reply.then((r) => (answered = r));
    try {
      for (let attempt = 0; attempt < this.#attempts && !answered; attempt++) {
        this.#socket.send(datagram, this.#port, this.#host);
        await Promise.race([reply, new Promise((r) => setTimeout(r, this.#retransmitMs))]);
      }
    } finally {
      this.#pending.delete(cookie);
    }
    if (!answered) throw new NgCommandError(dictionary.command, 'no reply');
    if (answered.result !== okResult) throw new NgCommandError(dictionary.command, String(answered['error-reason'] ?? answered.result));
    return answered;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }

  #onReply(msg: Buffer): void {
    const text = msg.toString('utf8');
    const space = text.indexOf(' ');
    const resolve = space > 0 ? this.#pending.get(text.slice(0, space)) : undefined;
    if (!resolve) return;
    try {
      resolve(JSON.parse(text.slice(space + 1)) as NgDictionary);
    } catch {
      resolve({ result: 'error', 'error-reason': 'unreadable reply' });
    }
  }
}

function sdpRequest(request: NgSdpRequest): NgDictionary {
  return {
    'call-id': request.callId,
    'from-tag': request.fromTag,
    ...(request.toTag ? { 'to-tag': request.toTag } : {}),
    sdp: request.sdp,
    ...request.extra,
  };
}

function sdpOf(reply: NgDictionary): string {
  if (typeof reply.sdp !== 'string') throw new NgCommandError('offer/answer', 'reply without SDP');
  return reply.sdp;
}
