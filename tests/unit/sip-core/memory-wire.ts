import { EventEmitter } from 'node:events';
import { parseSipMessage, type SipMessage, type SipRequest, type SipResponse } from '../../../media-server/embedded/sip/message/index.js';
import type { SipTransportEvents, TransportAddress } from '../../../media-server/embedded/sip/transport/sip-transport.js';
import type { FakeClock } from './fake-clock.js';

/** One message handed to the wire. */
export interface WireRecord {
  /** Fake-clock time of the send. */
  readonly at: number;
  readonly from: TransportAddress;
  readonly to: TransportAddress;
  readonly bytes: Buffer;
  readonly message: SipMessage;
}

/**
 * An in-memory SIP transport: what it sends is recorded (with the fake
 * clock's time) and, when linked, delivered to the peer on a later
 * macrotask turn, as a network would. `drop` loses chosen messages.
 */
export class MemoryTransport extends EventEmitter<SipTransportEvents> {
  readonly address: TransportAddress;
  readonly sent: WireRecord[] = [];
  peer: MemoryTransport | undefined;
  /** Return true to lose the message instead of delivering it. */
  drop: (message: SipMessage) => boolean = () => false;
  /** Makes every send reject, as a dead TCP connection would. */
  failSends = false;
  readonly #clock: FakeClock | undefined;

  constructor(address: TransportAddress, clock?: FakeClock) {
    super();
    this.address = address;
    this.#clock = clock;
  }

  send(bytes: Buffer, to: TransportAddress): Promise<void> {
    if (this.failSends) return Promise.reject(new Error('connection refused'));
    const message = parseSipMessage(bytes, { transport: to.protocol });
    this.sent.push({ at: this.#clock?.now ?? 0, from: this.address, to, bytes, message });
    const peer = this.peer;
    if (peer && !this.drop(message)) {
      const source = { ...this.address, protocol: to.protocol };
      setImmediate(() => peer.emit('message', bytes, source));
    }
    return Promise.resolve();
  }

  /** Delivers raw bytes to this transport as if `source` had sent them. */
  inject(bytes: Buffer | string, source: TransportAddress): void {
    this.emit('message', Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1'), source);
  }

  requests(method?: string): Array<WireRecord & { message: SipRequest }> {
    return this.sent.filter(
      (r): r is WireRecord & { message: SipRequest } => r.message.kind === 'request' && (method === undefined || r.message.method === method),
    );
  }

  responses(status?: number): Array<WireRecord & { message: SipResponse }> {
    return this.sent.filter(
      (r): r is WireRecord & { message: SipResponse } => r.message.kind === 'response' && (status === undefined || r.message.status === status),
    );
  }
}

/** Two transports wired to each other. */
export function memoryPair(clock?: FakeClock, protocol: 'udp' | 'tcp' = 'udp'): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport({ protocol, address: '127.0.0.1', port: 5070 }, clock);
  const b = new MemoryTransport({ protocol, address: '127.0.0.1', port: 5080 }, clock);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Lets every pending delivery (and what it triggers) happen. */
export async function flush(turns = 6): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
