import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';

/**
 * Just enough of drachtio-server's application port for the real
 * drachtio-srf to connect: its framing (`<byte length>#<message>`), the
 * `<id>|authenticate|<secret>|<tags>` exchange answered
 * `<id>|response|<request id>|OK|<hostport>|<version>` (or FAIL), and an OK
 * to anything else it asks (route|invite). Read from drachtio-srf's
 * lib/wire-protocol.js and lib/drachtio-agent.js; for start-up tests only,
 * no SIP goes through it.
 */
export class DrachtioWireStub {
  /** Every message received, without its id (`authenticate|secret|`, `route|invite`). */
  readonly received: string[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(
    server: Server,
    readonly mode: 'ok' | 'fail' | 'silent',
  ) {
    this.#server = server;
    server.on('connection', (socket) => this.#serve(socket));
  }

  static async start(mode: 'ok' | 'fail' | 'silent'): Promise<DrachtioWireStub> {
    const server = createServer();
    const stub = new DrachtioWireStub(server, mode);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return stub;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        const hash = buffer.indexOf('#');
        if (hash < 0) return;
        const length = Number(buffer.slice(0, hash));
        if (Buffer.byteLength(buffer.slice(hash + 1)) < length) return;
        const message = Buffer.from(buffer.slice(hash + 1)).subarray(0, length).toString('utf8');
        buffer = Buffer.from(buffer.slice(hash + 1)).subarray(length).toString('utf8');
        this.#answer(socket, message);
      }
    });
  }

  #answer(socket: Socket, message: string): void {
    const [id, ...rest] = message.split('|');
    this.received.push(rest.join('|'));
    if (this.mode === 'silent') return;
    const ok = this.mode === 'ok' || rest[0] !== 'authenticate';
    const reply = `${randomUUID()}|response|${id}|${ok ? 'OK|udp/127.0.0.1:5060|v0.9.2' : 'FAIL'}`;
    socket.write(`${Buffer.byteLength(reply)}#${reply}`);
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
