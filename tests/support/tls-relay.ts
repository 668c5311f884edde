import { once } from 'node:events';
import { connect as connectTcp, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { connect as connectTls, createServer as createTlsServer } from 'node:tls';

/**
 * SIPp 3.6.1 as Debian builds it has no TLS (`sipp -v`: SCTP, PCAP,
 * RTPSTREAM). These relays put TLS in front of or behind it, so a real SIPp
 * scenario can talk SIP over TLS to the system: each accepted connection is
 * piped byte for byte to a new connection on the other side. The SIP in the
 * middle is SIPp's, untouched; only the hop to or from the system is TLS.
 */
export interface TlsRelay {
  /** The port the relay listens on, on 127.0.0.1. */
  readonly port: number;
  close(): Promise<void>;
}

function relay(server: Server, sockets: Set<Socket>): TlsRelay {
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function pipeBoth(a: Socket, b: Socket, sockets: Set<Socket>): void {
  for (const s of [a, b]) {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      sockets.delete(s);
      a.destroy();
      b.destroy();
    });
  }
  a.pipe(b);
  b.pipe(a);
}

/** A caller's side: plain TCP in (SIPp `-t t1`), TLS out to `target`, verifying it against `ca`. */
export async function tcpToTlsRelay(target: { port: number; ca: Buffer }): Promise<TlsRelay> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((plain) => {
    const secure = connectTls({ host: '127.0.0.1', port: target.port, ca: target.ca });
    pipeBoth(plain, secure, sockets);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return relay(server, sockets);
}

/** A callee's side: TLS in with this certificate, plain TCP out to SIPp listening on `targetPort`. */
export async function tlsToTcpRelay(options: { cert: Buffer; key: Buffer; targetPort: number }): Promise<TlsRelay> {
  const sockets = new Set<Socket>();
  const server = createTlsServer({ cert: options.cert, key: options.key, minVersion: 'TLSv1.2' }, (secure) => {
    pipeBoth(secure, connectTcp({ host: '127.0.0.1', port: options.targetPort }), sockets);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return relay(server, sockets);
}
