import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { connectTls, serverTlsContext, type SipTlsOptions } from './sip-tls.js';

export type { SipTlsOptions } from './sip-tls.js';
export { SipTlsConnectError } from './sip-tls.js';

export type TransportProtocol = 'udp' | 'tcp' | 'tls';

/** TCP and TLS: a byte stream, framed by Content-Length, answered on the connection a request came on. */
export const isStreamProtocol = (protocol: TransportProtocol): boolean => protocol !== 'udp';

/** Where a message came from, or goes to. */
export interface TransportAddress {
  readonly protocol: TransportProtocol;
  readonly address: string;
  readonly port: number;
}

/** Splits a TCP (or TLS) byte stream into SIP messages (RFC 3261 §18.3: Content-Length framing). */
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

/**
 * What the transport has carried and refused since it was built (a live
 * view). TLS runs over TCP: its connections and messages count as TCP ones
 * (and in the same caps), and again in the `tls` counts.
 */
export interface SipTransportCounters {
  udpMessages: number;
  tcpMessages: number;
  /** Inbound TCP connections taken on. */
  tcpAccepted: number;
  /** Of those, messages that came over TLS. */
  tlsMessages: number;
  /** Of those, inbound connections on the TLS port (counted before the handshake). */
  tlsAccepted: number;
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
  /**
   * SIP over TLS: a listener on its own port (with a certificate), and
   * whom outgoing TLS trusts. Its connections go through the TCP code path
   * (caps, idle timeout, framing, write backlog). Default: no listener;
   * outgoing TLS trusts Node's bundled roots.
   */
  readonly tls?: SipTlsOptions | undefined;
}

const key = (protocol: TransportProtocol, address: string, port: number): string => `${protocol}|${address}|${port}`;

/**
 * SIP over UDP and TCP on one port (RFC 3261 §18), and TLS on another
 * (§26.2.1). Delivers whole messages as bytes; parsing is the message
 * layer's job. Responses to a TCP or TLS request go back on the connection
 * it came on (§18.2.2); otherwise a connection to the destination is reused
 * or opened.
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
    tlsMessages: 0,
    tlsAccepted: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
  };
  #udp: UdpSocket | undefined;
  #tcp: Server | undefined;
  #tls: Server | undefined;
  #tlsContext: SecureContext | undefined;
  #port = 0;
  #tlsPort = 0;

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

  /** The TLS listener's port; 0 without TLS. */
  get tlsPort(): number {
    return this.#tlsPort;
  }

  get host(): string {
    return this.#options.host;
  }

  /** Open TCP connections, TLS ones included. */
  get tcpConnections(): number {
    return this.#connections.size;
  }

  /** Counts since construction (a live view). */
  get counters(): Readonly<SipTransportCounters> {
    return this.#counters;
  }

  async start(): Promise<void> {
    // Port 0: the kernel picks a free UDP port, and TCP must then take the same number, which
    // another process may hold for TCP (EADDRINUSE): pick again, a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#bindUdpAndTcp();
        break;
      } catch (err) {
        const retry = this.#options.port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10;
        this.#udp?.close();
        this.#udp = undefined;
        if (!retry) throw err;
      }
    }
    this.#tlsContext = serverTlsContext(this.#options.tls);
    if (this.#tlsContext) {
      const port = this.#options.tls?.port ?? 5061;
      this.#tls = await this.#listen(port, 'tls');
      const bound = this.#tls.address();
      this.#tlsPort = typeof bound === 'object' && bound ? bound.port : port;
    }
  }

  async #bindUdpAndTcp(): Promise<void> {
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

    this.#tcp = await this.#listen(this.#port, 'tcp');
  }

  /** A TCP listener; on the TLS port each connection is wrapped once it passed the caps. */
  async #listen(port: number, protocol: 'tcp' | 'tls'): Promise<Server> {
    const server = createServer((socket) => this.#onConnection(socket, protocol));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.#options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.#reportError(err));
    return server;
  }

  async stop(): Promise<void> {
    for (const socket of this.#connections.values()) socket.destroy();
    this.#connections.clear();
    for (const timer of this.#idleTimers.values()) clearTimeout(timer);
    this.#idleTimers.clear();
    this.#perSource.clear();
    for (const server of [this.#tcp, this.#tls]) await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.#udp ? this.#udp.close(() => resolve()) : resolve()));
    this.#tcp = undefined;
    this.#tls = undefined;
    this.#udp = undefined;
  }

  /** Sends one serialised message. Rejects if it could not be handed to the kernel. */
  send(message: Buffer, to: TransportAddress): Promise<void> {
    if (to.protocol === 'udp') {
      const udp = this.#udp;
      if (!udp) return Promise.reject(new Error('transport stopped'));
      return new Promise((resolve, reject) => udp.send(message, to.port, to.address, (err) => (err ? reject(err) : resolve())));
    }
    return this.#sendStream(message, to);
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

  #onConnection(socket: Socket, protocol: 'tcp' | 'tls'): void {
    const address = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    const source: TransportAddress = { protocol, address, port };
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
    socket.setNoDelay(true);
    if (protocol === 'tcp') {
      this.#adopt(socket, source);
      return;
    }
    this.#counters.tlsAccepted++;
    // The TLS socket reports the connection's errors; the raw one must not throw unheard.
    socket.on('error', () => undefined);
    // Wrapped only now, so a refused connection never costs a handshake. A handshake that
    // never completes delivers no message: the idle timer closes it like a silent TCP peer.
    this.#adopt(new TLSSocket(socket, { isServer: true, secureContext: this.#tlsContext as SecureContext }), source);
  }

  #adopt(socket: Socket, source: TransportAddress): void {
    const id = key(source.protocol, source.address, source.port);
    this.#connections.set(id, socket);
    this.#perSource.set(source.address, (this.#perSource.get(source.address) ?? 0) + 1);
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
        if (source.protocol === 'tls') this.#counters.tlsMessages++;
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

  async #sendStream(message: Buffer, to: TransportAddress): Promise<void> {
    let socket = this.#connections.get(key(to.protocol, to.address, to.port));
    if (!socket || socket.destroyed) {
      socket = to.protocol === 'tls' ? await connectTls(to.address, to.port, this.#options.tls) : await connectTcp(to.address, to.port);
      socket.setNoDelay(true);
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

function connectTcp(host: string, port: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const s = createConnection({ host, port }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
