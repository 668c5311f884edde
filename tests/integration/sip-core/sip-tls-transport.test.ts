import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SipStreamFramer } from '../../../media-server/embedded/sip/message/index.js';
import {
  SipTlsConnectError,
  SipTransport,
  type DropReason,
  type SipTransportOptions,
  type TransportAddress,
} from '../../../media-server/embedded/sip/transport/sip-transport.js';
import { makeTestCertificates, type TestCertificates } from '../../support/test-certificates.js';

// SIP over TLS in the transport (RFC 3261 §26.2.1): a listener on its own
// port whose connections take the TCP path (caps, idle timeout, framing),
// and outgoing TLS that verifies the peer's certificate. Certificates are
// made with openssl at test time; real sockets on loopback; nothing here
// asserts how long anything took.

const OPTIONS = (i: number, transport = 'TLS'): string =>
  [
    'OPTIONS sip:pay@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/${transport} 127.0.0.1:5999;branch=z9hG4bK-tls-${i}`,
    'From: <sip:qa@127.0.0.1>;tag=t1',
    'To: <sip:pay@127.0.0.1>',
    `Call-ID: tls-${i}`,
    `CSeq: ${i + 1} OPTIONS`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');

let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates();
});
afterAll(() => certs.remove());

const transports: SipTransport[] = [];
const sockets: Socket[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
  await Promise.all(transports.splice(0).map((t) => t.stop()));
});

interface Started {
  transport: SipTransport;
  messages: { bytes: Buffer; source: TransportAddress }[];
  drops: { reason: DropReason; source: TransportAddress }[];
}

async function start(options: Partial<SipTransportOptions> = {}, withListener = true): Promise<Started> {
  const transport = new SipTransport({
    host: '127.0.0.1',
    port: 0,
    createFramer: (callbacks) => new SipStreamFramer(callbacks),
    tls: withListener
      ? { port: 0, cert: certs.read(certs.certFile), key: certs.read(certs.keyFile), ca: certs.read(certs.caFile) }
      : { ca: certs.read(certs.caFile) },
    ...options,
  });
  await transport.start();
  transports.push(transport);
  const messages: Started['messages'] = [];
  const drops: Started['drops'] = [];
  transport.on('message', (bytes, source) => messages.push({ bytes, source }));
  transport.on('dropped', (reason, source) => drops.push({ reason, source }));
  return { transport, messages, drops };
}

/** A TLS client that trusts the test CA; resolves once the handshake is done. */
async function openTls(port: number, options: { maxVersion?: 'TLSv1.1' | 'TLSv1.2' } = {}): Promise<TLSSocket> {
  const socket = connectTls({ host: '127.0.0.1', port, ca: certs.read(certs.caFile), ...options });
  socket.on('error', () => undefined);
  sockets.push(socket);
  await once(socket, 'secureConnect');
  return socket;
}

async function openTcp(port: number): Promise<Socket> {
  const socket = connectTcp({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  sockets.push(socket);
  await once(socket, 'connect');
  return socket;
}

// Not events.once: it rejects on 'error', and the server may end a connection with a reset (ECONNRESET).
const closed = (socket: Socket): Promise<unknown> => (socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', resolve)));

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('SIP over TLS: the listener', () => {
  it('listens on its own port; a message split over TLS records is framed whole, and counted as TLS', async () => {
    const { transport, messages } = await start();
    expect(transport.tlsPort).toBeGreaterThan(0);
    expect(transport.tlsPort).not.toBe(transport.port);
    const client = await openTls(transport.tlsPort);
    const text = OPTIONS(0);
    client.write(text.slice(0, 40));
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.write(text.slice(40));
    await until(() => messages.length === 1);
    expect(messages[0]!.bytes.toString('latin1')).toBe(text);
    expect(messages[0]!.source).toMatchObject({ protocol: 'tls', address: '127.0.0.1', port: client.localPort });
    expect(transport.counters).toMatchObject({ tlsAccepted: 1, tlsMessages: 1, tcpAccepted: 1, tcpMessages: 1 });
  });

  it('answers on the connection the request came on', async () => {
    const { transport, messages } = await start();
    const client = await openTls(transport.tlsPort);
    client.write(OPTIONS(0));
    await until(() => messages.length === 1);
    const answer = 'SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n';
    const received = once(client, 'data');
    await transport.send(Buffer.from(answer), messages[0]!.source);
    expect(String((await received)[0])).toBe(answer);
  });

  it('takes TLS 1.2 and refuses anything older', async () => {
    const { transport } = await start();
    expect((await openTls(transport.tlsPort, { maxVersion: 'TLSv1.2' })).getProtocol()).toBe('TLSv1.2');
    await expect(openTls(transport.tlsPort, { maxVersion: 'TLSv1.1' })).rejects.toThrow();
  });

  it('shares the TCP caps: over the per-source cap, a TLS connection is closed before its handshake', async () => {
    const { transport, drops } = await start({ maxTcpConnectionsPerSource: 1 });
    await openTcp(transport.port);
    await until(() => transport.tcpConnections === 1);
    const refused = await openTcp(transport.tlsPort);
    await closed(refused);
    expect(drops.map((d) => [d.reason, d.source.protocol])).toEqual([['too-many-from-source', 'tls']]);
    expect(transport.counters.tlsAccepted).toBe(0);
  });

  it('closes a connection that never completes its handshake, and a silent one, on the idle timeout', async () => {
    const { transport, drops } = await start({ tcpIdleTimeoutMs: 600 });
    const noHandshake = await openTcp(transport.tlsPort);
    const silent = await openTls(transport.tlsPort);
    await Promise.all([closed(noHandshake), closed(silent)]);
    expect(drops.map((d) => d.reason)).toEqual(['idle', 'idle']);
  });

  it('closes a TLS stream it cannot frame', async () => {
    const { transport, drops, messages } = await start();
    const client = await openTls(transport.tlsPort);
    client.write('INVITE sip:pay@127.0.0.1 SIP/2.0\r\nContent-Length: banana\r\n\r\n');
    await closed(client);
    expect(drops.map((d) => d.reason)).toEqual(['framing']);
    expect(messages).toHaveLength(0);
  });
});

describe('SIP over TLS: outgoing connections', () => {
  it('connects to a peer whose certificate the private CA signed, and hears its answer on the same connection', async () => {
    const server = await start();
    const client = await start({}, false);
    expect(client.transport.tlsPort).toBe(0);
    const to: TransportAddress = { protocol: 'tls', address: '127.0.0.1', port: server.transport.tlsPort };
    await client.transport.send(Buffer.from(OPTIONS(1)), to);
    await until(() => server.messages.length === 1);
    expect(server.messages[0]!.source.protocol).toBe('tls');
    await server.transport.send(Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'), server.messages[0]!.source);
    await until(() => client.messages.length === 1);
    expect(client.messages[0]!.source).toEqual(to);
    // A second message reuses the connection.
    await client.transport.send(Buffer.from(OPTIONS(2)), to);
    await until(() => server.messages.length === 2);
    expect(server.transport.counters.tlsAccepted).toBe(1);
  });

  async function peerWith(certFile: string, keyFile: string): Promise<number> {
    const server = createTlsServer({ cert: certs.read(certFile), key: certs.read(keyFile) }, (socket) => socket.on('error', () => undefined));
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as { port: number }).port;
  }

  it('refuses a peer with a self-signed certificate (SipTlsConnectError naming the reason)', async () => {
    const { transport } = await start({}, false);
    const port = await peerWith(certs.rogueCertFile, certs.rogueKeyFile);
    const sent = transport.send(Buffer.from(OPTIONS(3)), { protocol: 'tls', address: '127.0.0.1', port });
    await expect(sent).rejects.toBeInstanceOf(SipTlsConnectError);
    await expect(sent).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('refuses a peer whose certificate, though signed by the CA, names another host', async () => {
    const { transport } = await start({}, false);
    const port = await peerWith(certs.wrongNameCertFile, certs.wrongNameKeyFile);
    const sent = transport.send(Buffer.from(OPTIONS(4)), { protocol: 'tls', address: '127.0.0.1', port });
    await expect(sent).rejects.toMatchObject({ name: 'SipTlsConnectError', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('without SIP_TLS_CA, does not trust the private CA', async () => {
    const server = await start();
    const plain = new SipTransport({ host: '127.0.0.1', port: 0, createFramer: (callbacks) => new SipStreamFramer(callbacks) });
    await plain.start();
    transports.push(plain);
    const sent = plain.send(Buffer.from(OPTIONS(5)), { protocol: 'tls', address: '127.0.0.1', port: server.transport.tlsPort });
    await expect(sent).rejects.toMatchObject({ name: 'SipTlsConnectError', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(server.messages).toHaveLength(0);
  });
});
