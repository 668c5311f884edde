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
  /** The stream cannot be framed any more; the connection is closed. */
  error(reason: string): void;
}

export type DropReason = 'oversized' | 'framing' | 'not-allowed' | 'too-many-connections' | 'idle';

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
  /** Datagrams larger than this are dropped unread. Default 65 535 − headers = 65 507. */
  readonly maxUdpMessageBytes?: number;
  /** Further TCP connections are closed at once. Default 1024. */
  readonly maxTcpConnections?: number;
  /** A TCP connection silent this long is closed. Default 120 000 ms. */
  readonly tcpIdleTimeoutMs?: number;
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
  readonly #idleMs: number;
  readonly #connections = new Map<string, Socket>();
  #udp: UdpSocket | undefined;
  #tcp: Server | undefined;
  #port = 0;

  constructor(options: SipTransportOptions) {
    super();
    this.#options = options;
    this.#maxUdp = options.maxUdpMessageBytes ?? 65_507;
    this.#maxConnections = options.maxTcpConnections ?? 1024;
    this.#idleMs = options.tcpIdleTimeoutMs ?? 120_000;
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
    udp.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo.address, rinfo.port));
    udp.on('error', (err) => this.emit('error', err));

    const tcp = createServer((socket) => this.#onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.#port, this.#options.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    tcp.on('error', (err) => this.emit('error', err));
    this.#tcp = tcp;
  }

  async stop(): Promise<void> {
    for (const socket of this.#connections.values()) socket.destroy();
    this.#connections.clear();
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
      this.emit('dropped', 'oversized', source);
      return;
    }
    // RFC 5626 keep-alives over UDP are bare CRLFs (or STUN); nothing to parse.
    if (message.length <= 4 && message.toString('latin1').trim() === '') return;
    this.emit('message', message, source);
  }

  #onConnection(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    const source: TransportAddress = { protocol: 'tcp', address, port };
    if (this.#options.acceptTcpFrom && !this.#options.acceptTcpFrom(address)) {
      this.emit('dropped', 'not-allowed', source);
      socket.destroy();
      return;
    }
    if (this.#connections.size >= this.#maxConnections) {
      this.emit('dropped', 'too-many-connections', source);
      socket.destroy();
      return;
    }
    this.#adopt(socket, source);
  }

  #adopt(socket: Socket, source: TransportAddress): void {
    const id = key(source.address, source.port);
    this.#connections.set(id, socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.#idleMs, () => {
      this.emit('dropped', 'idle', source);
      socket.destroy();
    });
    const framer = this.#options.createFramer({
      message: (message) => this.emit('message', message, source),
      ping: () => socket.write('\r\n'),
      error: () => {
        this.emit('dropped', 'framing', source);
        socket.destroy();
      },
    });
    socket.on('data', (chunk) => framer.push(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (this.#connections.get(id) === socket) this.#connections.delete(id);
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
    await new Promise<void>((resolve, reject) => open.write(message, (err) => (err ? reject(err) : resolve())));
  }
}
