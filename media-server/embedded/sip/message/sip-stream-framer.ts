import { DEFAULT_MAX_MESSAGE_SIZE } from './sip-parser.js';

export type SipFramingErrorReason = 'missing-content-length' | 'invalid-content-length' | 'message-too-large';

/** A byte stream that cannot be cut into SIP messages; the connection has to go. */
export class SipFramingError extends Error {
  override readonly name = 'SipFramingError';
  readonly reason: SipFramingErrorReason;

  constructor(reason: SipFramingErrorReason, message: string) {
    super(`${reason}: ${message}`);
    this.reason = reason;
  }
}

export interface SipStreamFramerCallbacks {
  /** One whole message, header section and Content-Length bytes of body, for `parseSipMessage`. */
  message(message: Buffer): void;
  /** RFC 5626 §3.5.1 double-CRLF ping: answer with a single CRLF pong. */
  ping(): void;
  /** A single CRLF: the pong to a ping this side sent (RFC 5626 §4.4.1), or a stray CRLF before a message (RFC 3261 §7.5). */
  pong?(): void;
  /** The stream cannot be framed any more: close the connection. Called once; later input is ignored. */
  error(reason: SipFramingErrorReason, error: SipFramingError): void;
}

export interface SipStreamFramerOptions {
  /**
   * Largest message, header section and body, and so about the most bytes
   * held while waiting for one. Default 65 536 (`DEFAULT_MAX_MESSAGE_SIZE`).
   */
  readonly maxMessageSize?: number;
}

type Frame = { type: 'message'; data: Buffer } | { type: 'ping' } | { type: 'pong' };

const CR = 0x0d;
const LF = 0x0a;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);

/**
 * Content-Length (or its compact form `l`) of a header section, folded lines
 * included: undefined when absent, NaN when malformed or given twice with
 * different values.
 */
function contentLengthOf(head: string): number | undefined {
  const lines = head.split('\r\n');
  let found: number | undefined;
  let value: string | undefined;
  const settle = (): boolean => {
    if (value === undefined) return true;
    const v = value.trim();
    value = undefined;
    const n = /^\d{1,10}$/.test(v) ? Number(v) : Number.NaN;
    if (Number.isNaN(n) || (found !== undefined && found !== n)) {
      found = Number.NaN;
      return false;
    }
    found = n;
    return true;
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      if (value !== undefined) value += ` ${line}`;
      continue;
    }
    if (!settle()) return Number.NaN;
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trimEnd().toLowerCase();
    if (name === 'content-length' || name === 'l') value = line.slice(colon + 1);
  }
  settle();
  return found;
}

/**
 * Cuts a TCP/TLS byte stream into SIP messages (RFC 3261 §18.3: the
 * Content-Length header is mandatory on stream transports and says where
 * the body ends). Between messages it reports RFC 5626 keep-alives. Bytes are
 * copied only while a message is incomplete; the messages handed out are
 * views that stay valid. Work per byte is constant however the stream is cut.
 */
export class SipStreamFramer {
  readonly #callbacks: SipStreamFramerCallbacks;
  readonly #maxMessageSize: number;
  /** Pending bytes are `#buffer[#start, #end)`; regions before `#start` may be held by delivered messages. */
  #buffer: Buffer = EMPTY;
  #start = 0;
  #end = 0;
  /** Bytes of the pending message already searched for the end of its headers. */
  #scanned = 0;
  /** Total length of the pending message once its headers are read, else -1. */
  #expected = -1;
  /** The last input ended with a lone CRLF, reported as a pong; a CRLF next completes a ping split in two. */
  #afterLoneCrlf = false;
  #failed = false;

  constructor(callbacks: SipStreamFramerCallbacks, options: SipStreamFramerOptions = {}) {
    this.#callbacks = callbacks;
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Bytes held waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  /** True once a framing error was reported. */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Feeds the next bytes of the stream. Callbacks run once the framer's state
   * is settled, in stream order; one that throws skips the frames after it in
   * this chunk and the error reaches the caller.
   */
  push(chunk: Buffer): void {
    if (this.#failed || chunk.length === 0) return;
    const buffered = this.#start !== this.#end;
    if (buffered) this.#append(chunk);
    const data = buffered ? this.#buffer.subarray(this.#start, this.#end) : chunk;
    const frames: Frame[] = [];
    let error: SipFramingError | undefined;
    let consumed = 0;
    try {
      consumed = this.#drain(data, frames);
    } catch (err) {
      if (!(err instanceof SipFramingError)) throw err;
      error = err;
    }

    if (error) {
      this.#failed = true;
      this.#buffer = EMPTY;
      this.#start = this.#end = 0;
    } else if (buffered) {
      this.#start += consumed;
      if (this.#start === this.#end) {
        this.#buffer = EMPTY;
        this.#start = this.#end = 0;
      }
    } else if (consumed < chunk.length) {
      this.#append(chunk.subarray(consumed));
    }

    for (const frame of frames) {
      if (frame.type === 'message') this.#callbacks.message(frame.data);
      else if (frame.type === 'ping') this.#callbacks.ping();
      else this.#callbacks.pong?.();
    }
    if (error) this.#callbacks.error(error.reason, error);
  }

  /** Copies bytes in after the pending ones, into a new buffer when full: never over a delivered message. */
  #append(bytes: Buffer): void {
    if (this.#end + bytes.length > this.#buffer.length) {
      const pending = this.#end - this.#start;
      const grown = Buffer.allocUnsafe(Math.max(1024, 2 * (pending + bytes.length)));
      this.#buffer.copy(grown, 0, this.#start, this.#end);
      this.#buffer = grown;
      this.#start = 0;
      this.#end = pending;
    }
    bytes.copy(this.#buffer, this.#end);
    this.#end += bytes.length;
  }

  /** Frames what `data` holds; returns how many bytes it used up. */
  #drain(data: Buffer, frames: Frame[]): number {
    let pos = 0;
    while (pos < data.length) {
      if (this.#expected === -1) {
        if (this.#scanned === 0) {
          const keepAlive = this.#keepAlive(data, pos, frames);
          if (keepAlive === -1) break;
          if (keepAlive > 0) {
            pos += keepAlive;
            continue;
          }
        }
        const end = data.indexOf(CRLFCRLF, pos + Math.max(0, this.#scanned - 3));
        if (end === -1) {
          this.#scanned = data.length - pos;
          if (this.#scanned > this.#maxMessageSize) {
            throw new SipFramingError('message-too-large', `no end of headers in ${this.#scanned} bytes`);
          }
          break;
        }
        const length = contentLengthOf(data.toString('latin1', pos, end));
        if (length === undefined) throw new SipFramingError('missing-content-length', 'required on stream transports');
        if (Number.isNaN(length)) throw new SipFramingError('invalid-content-length', 'malformed or conflicting');
        this.#expected = end + 4 - pos + length;
        if (this.#expected > this.#maxMessageSize) {
          throw new SipFramingError('message-too-large', `${this.#expected} bytes, limit ${this.#maxMessageSize}`);
        }
      }
      if (data.length - pos < this.#expected) break;
      frames.push({ type: 'message', data: data.subarray(pos, pos + this.#expected) });
      pos += this.#expected;
      this.#expected = -1;
      this.#scanned = 0;
    }
    return pos;
  }

  /**
   * At a message boundary: how many bytes of keep-alive start at `pos`, 0
   * when a message starts there, -1 when more bytes are needed to tell.
   */
  #keepAlive(data: Buffer, pos: number, frames: Frame[]): number {
    const available = data.length - pos;
    if (data[pos] !== CR) {
      this.#afterLoneCrlf = false;
      return 0;
    }
    if (available < 2) return -1;
    if (data[pos + 1] !== LF) {
      this.#afterLoneCrlf = false;
      return 0;
    }
    if (this.#afterLoneCrlf) {
      this.#afterLoneCrlf = false;
      frames.push({ type: 'ping' });
      return 2;
    }
    if (available === 2) {
      this.#afterLoneCrlf = true;
      frames.push({ type: 'pong' });
      return 2;
    }
    if (data[pos + 2] === CR) {
      if (available === 3) return -1;
      if (data[pos + 3] === LF) {
        frames.push({ type: 'ping' });
        return 4;
      }
    }
    frames.push({ type: 'pong' });
    return 2;
  }
}
