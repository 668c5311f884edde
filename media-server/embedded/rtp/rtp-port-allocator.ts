import { createSocket, type Socket, type SocketOptions } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';

/** Every RTP port of the range is in use (or could not be bound). */
export class RtpPortsExhaustedError extends Error {
  override readonly name = 'RtpPortsExhaustedError';
}

export interface RtpPortAllocatorOptions {
  readonly host: string;
  /** Inclusive range; RTP uses even ports (RFC 3550 §11), RTCP would take the odd one above. */
  readonly min: number;
  readonly max: number;
}

/**
 * Hands out bound UDP sockets on even ports of the configured range
 * (RTP_PORT_MIN–RTP_PORT_MAX), round-robin so a port just released is not
 * reused at once (late packets of the old call would land in the new one).
 */
export class RtpPortAllocator {
  readonly #host: string;
  readonly #min: number;
  readonly #max: number;
  readonly #inUse = new Set<number>();
  #next: number;

  constructor(options: RtpPortAllocatorOptions) {
    if (options.min > options.max || options.min < 1024 || options.max > 65534) {
      throw new RangeError(`bad RTP port range ${options.min}-${options.max}`);
    }
    this.#host = options.host;
    this.#min = options.min + (options.min % 2);
    this.#max = options.max;
    this.#next = this.#min;
  }

  get inUse(): number {
    return this.#inUse.size;
  }

  get capacity(): number {
    return Math.floor((this.#max - this.#min) / 2) + 1;
  }

  /** A socket bound on a free even port. */
  async allocate(): Promise<{ socket: Socket; port: number }> {
    const tries = this.capacity;
    for (let i = 0; i < tries; i++) {
      const port = this.#next;
      this.#next = port + 2 > this.#max ? this.#min : port + 2;
      if (this.#inUse.has(port)) continue;
      this.#inUse.add(port);
      try {
        const socket = await bind(this.#host, port);
        return { socket, port };
      } catch {
        // Taken by another process: try the next one.
        this.#inUse.delete(port);
      }
    }
    throw new RtpPortsExhaustedError(`no free RTP port in ${this.#min}-${this.#max}`);
  }

  release(port: number): void {
    this.#inUse.delete(port);
  }
}

function bind(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', lookup: literalAddressLookup });
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/**
 * An RTP peer's address is an IP literal from its SDP. node's default lookup
 * still goes through dns.lookup, which answers an IP literal on the next tick:
 * a deferred callback per packet sent, 50 per second per call. A literal is
 * answered at once; a host name still goes to dns.lookup.
 */
const literalAddressLookup: NonNullable<SocketOptions['lookup']> = (hostname, options, callback) => {
  const family = isIP(hostname);
  if (family === 0) {
    dnsLookup(hostname, options, callback);
    return;
  }
  callback(null, hostname, family);
};
