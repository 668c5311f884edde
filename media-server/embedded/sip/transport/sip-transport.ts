import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type TransportProtocol = 'udp' | 'tcp';

/** Where a message came from, or goes to. */
export interface TransportAddress {
  readonly protocol: TransportProtocol;
  readonly address: string;
  readonly port: number;
}

/** Splits a TCP byte stream into SIP messages (RFC 3261 §18.3: Content-Length framing). */
export interface StreamFramer {
  /** Feeds bytes; calls back once per whole message, keep-alive or framing error. */
  push(chunk: Buffer): void;
}

export interface FramerCallbacks {
  message(message: Buffer): void;
  /** RFC 5626 §3.5.1 double-CRLF ping: answer with a single CRLF pong. */
  ping(): void;
  /** A single CRLF: a pong, or a stray line between messages (RFC 3261 §7.5). */
  pong?(): void;
  /** The stream cannot be framed any more; the connection is closed. */
  error(reason: string): void;
}

/**
 * Why the transport refused traffic: a datagram over the size cap, a stream
 * it could not frame, a connection from outside SIP_ALLOW, over the total or
 * per-source connection cap, one that completed no message for the idle
 * time, or one whose peer stopped reading what we send.
 */
export type DropReason =
  | 'oversized'
  | 'framing'
  | 'not-allowed'
  | 'too-many-connections'
  | 'too-many-from-source'
  | 'idle'
  | 'write-backlog';

export const DROP_REASONS: readonly DropReason[] = [
  'oversized',
  'framing',
  'not-allowed',
  'too-many-connections',
  'too-many-from-source',
  'idle',
  'write-backlog',
];

/** What the transport has carried and refused since it was built (a live view). */
export interface SipTransportCounters {
  udpMessages: number;
  tcpMessages: number;
  /** Inbound TCP connections taken on. */
  tcpAccepted: number;
  /** Refusals by reason; `oversized` counts UDP datagrams over `maxUdpMessageBytes`. */
  dropped: Record<DropReason, number>;
}

export interface SipTransportEvents {
  message: [message: Buffer, source: TransportAddress];
  /** Traffic refused below the message layer, for the counters. */
  dropped: [reason: DropReason, source: TransportAddress];
  error: [err: Error];
}

export interface SipTransportOptions {
  readonly host: string;
  /** UDP and TCP share it. 0 picks a free port (tests). */
  readonly port: number;
  readonly createFramer: (callbacks: FramerCallbacks) => StreamFramer;
  /** Datagrams larger than this are dropped unread and counted. Default 65 507 (the most UDP over IPv4 carries). */
  readonly maxUdpMessageBytes?: number;
  /** Inbound TCP connections beyond this many open ones are closed at once. Default 1024. */
  readonly maxTcpConnections?: number;
  /** Inbound TCP connections from one address beyond this many are closed at once. Default 256. */
  readonly maxTcpConnectionsPerSource?: number;
  /**
   * A TCP connection that completes no message, keep-alive or send for this
   * long is closed: a silent one, and one dripping a message that never
   * ends (slowloris). Default 120 000 ms.
   */
  readonly tcpIdleTimeoutMs?: number;
  /** A TCP peer that leaves more than this many of our bytes unread is cut off. Default 1 MiB. */
  readonly maxTcpWriteBacklogBytes?: number;
  /** Connections from sources this refuses are closed before a byte is read. */
  readonly acceptTcpFrom?: (address: string) => boolean;
}

const key = (address: string, port: number): string => `${address}|${port}`;

/**
 * SIP over UDP and TCP on one port (RFC 3261 §18). Delivers whole messages as
 * bytes; parsing is the message layer's job. Responses to a TCP request go
 * back on the connection it came on (§18.2.2); otherwise a connection to the
 * destination is reused or opened.
 */
export class SipTransport extends EventEmitter<SipTransportEvents> {
  readonly #options: SipTransportOptions;
  readonly #maxUdp: number;
  readonly #maxConnections: number;
  readonly #maxPerSource: number;
  readonly #idleMs: number;
  readonly #maxBacklog: number;
  readonly #connections = new Map<string, Socket>();
  /** Open connections (both directions) by remote address, for the per-source cap. */
  readonly #perSource = new Map<string, number>();
  readonly #idleTimers = new Map<Socket, NodeJS.Timeout>();
  readonly #counters: SipTransportCounters = {
    udpMessages: 0,
    tcpMessages: 0,
    tcpAccepted: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
  };
  #udp: UdpSocket | undefined;
  #tcp: Server | undefined;
  #port = 0;

  constructor(options: SipTransportOptions) {
    super();
    this.#options = options;
    this.#maxUdp = options.maxUdpMessageBytes ?? 65_507;
    this.#maxConnections = options.maxTcpConnections ?? 1024;
    this.#maxPerSource = options.maxTcpConnectionsPerSource ?? 256;
    this.#idleMs = options.tcpIdleTimeoutMs ?? 120_000;
    this.#maxBacklog = options.maxTcpWriteBacklogBytes ?? 1024 * 1024;
  }

  /** The port both transports listen on. */
  get port(): number {
    return this.#port;
  }

  get host(): string {
    return this.#options.host;
  }

  get tcpConnections(): number {
    return this.#connections.size;
  }

  /** Counts since construction (a live view). */
  get counters(): Readonly<SipTransportCounters> {
    return this.#counters;
  }

  async start(): Promise<void> {
    const family = this.#options.host.includes(':') ? 'udp6' : 'udp4';
    const udp = createSocket({ type: family, reuseAddr: false });
    // Large receive buffer: bursts of INVITEs under load must not be lost in the kernel.
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.#options.port, this.#options.host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    try {
      udp.setRecvBufferSize(4 * 1024 * 1024);
    } catch {
      // The kernel caps it; the default still works.
    }
    this.#udp = udp;
    this.#port = udp.address().port;
    udp.on('message', (msg, rinfo) => {
      try {
        this.#onDatagram(msg, rinfo.address, rinfo.port);
      } catch (err) {
        // A message listener threw: that datagram is lost, the socket goes on.
        this.#reportError(err);
      }
    });
    udp.on('error', (err) => this.#reportError(err));

    const tcp = createServer((socket) => this.#onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.#port, this.#options.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    tcp.on('error', (err) => this.#reportError(err));
    this.#tcp = tcp;
  }

  async stop(): Promise<void> {
    for (const socket of this.#connections.values()) socket.destroy();
    this.#connections.clear();
    for (const timer of this.#idleTimers.values()) clearTimeout(timer);
    this.#idleTimers.clear();
    this.#perSource.clear();
    await new Promise<void>((resolve) => (this.#tcp ? this.#tcp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.#udp ? this.#udp.close(() => resolve()) : resolve()));
    this.#tcp = undefined;
    this.#udp = undefined;
  }

  /** Sends one serialised message. Rejects if it could not be handed to the kernel. */
  send(message: Buffer, to: TransportAddress): Promise<void> {
    if (to.protocol === 'udp') {
      const udp = this.#udp;
      if (!udp) return Promise.reject(new Error('transport stopped'));
      return new Promise((resolve, reject) => udp.send(message, to.port, to.address, (err) => (err ? reject(err) : resolve())));
    }
    return this.#sendTcp(message, to);
  }

  #onDatagram(message: Buffer, address: string, port: number): void {
    const source: TransportAddress = { protocol: 'udp', address, port };
    if (message.length > this.#maxUdp) {
      this.#drop('oversized', source);
      return;
    }
    // RFC 5626 keep-alives over UDP are bare CRLFs (or STUN); nothing to parse.
    if (message.length <= 4 && message.toString('latin1').trim() === '') return;
    this.#counters.udpMessages++;
    this.emit('message', message, source);
  }

  /** To the 'error' listeners, if any: an EventEmitter 'error' nobody hears would throw. */
  #reportError(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }

  #drop(reason: DropReason, source: TransportAddress): void {
    this.#counters.dropped[reason]++;
    this.emit('dropped', reason, source);
  }

  #onConnection(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    const source: TransportAddress = { protocol: 'tcp', address, port };
    // Refused before a byte is read: a socket we never read from costs nothing more.
    let refusal: DropReason | undefined;
    if (this.#options.acceptTcpFrom && !this.#options.acceptTcpFrom(address)) refusal = 'not-allowed';
    else if (this.#connections.size >= this.#maxConnections) refusal = 'too-many-connections';
    else if ((this.#perSource.get(address) ?? 0) >= this.#maxPerSource) refusal = 'too-many-from-source';
    if (refusal) {
      this.#drop(refusal, source);
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.#counters.tcpAccepted++;
    this.#adopt(socket, source);
  }

  #adopt(socket: Socket, source: TransportAddress): void {
    const id = key(source.address, source.port);
    this.#connections.set(id, socket);
    this.#perSource.set(source.address, (this.#perSource.get(source.address) ?? 0) + 1);
    socket.setNoDelay(true);
    // Not socket.setTimeout: any byte resets that, and a peer dripping one byte a
    // minute would hold its connection and buffer for ever. Only whole messages,
    // keep-alives and our own sends count as activity.
    const idle = setTimeout(() => {
      this.#drop('idle', source);
      socket.destroy();
    }, this.#idleMs);
    idle.unref();
    this.#idleTimers.set(socket, idle);
    const active = (): void => void idle.refresh();
    const framer = this.#options.createFramer({
      message: (message) => {
        active();
        this.#counters.tcpMessages++;
        this.emit('message', message, source);
      },
      ping: () => {
        active();
        socket.write('\r\n');
      },
      pong: active,
      error: () => {
        this.#drop('framing', source);
        socket.destroy();
      },
    });
    socket.on('data', (chunk) => {
      try {
        framer.push(chunk);
      } catch (err) {
        // A message listener threw: the stream's state is unknown, so the connection goes.
        this.#reportError(err);
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(idle);
      this.#idleTimers.delete(socket);
      if (this.#connections.get(id) === socket) this.#connections.delete(id);
      const open = (this.#perSource.get(source.address) ?? 1) - 1;
      if (open > 0) this.#perSource.set(source.address, open);
      else this.#perSource.delete(source.address);
    });
  }

  async #sendTcp(message: Buffer, to: TransportAddress): Promise<void> {
    let socket = this.#connections.get(key(to.address, to.port));
    if (!socket || socket.destroyed) {
      socket = await new Promise<Socket>((resolve, reject) => {
        const s = createConnection({ host: to.address, port: to.port }, () => {
          s.off('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
      this.#adopt(socket, to);
    }
    const open = socket;
    this.#idleTimers.get(open)?.refresh();
    const written = new Promise<void>((resolve, reject) => open.write(message, (err) => (err ? reject(err) : resolve())));
    if (open.writableLength > this.#maxBacklog) {
      // A peer that sends requests but never reads the answers would grow this queue for ever.
      this.#drop('write-backlog', to);
      open.destroy();
    }
    await written;
  }
}
