import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SipStreamFramer } from '../../../media-server/embedded/sip/message/index.js';
import {
  SipTransport,
  type DropReason,
  type SipTransportOptions,
  type TransportAddress,
} from '../../../media-server/embedded/sip/transport/sip-transport.js';

// The caps that keep one peer from making the SIP transport hold without bound:
// UDP message size, TCP connections in total and per source, idle time (counted
// in whole messages, so a slowloris drip does not reset it) and unread output.
// Real sockets on loopback; nothing here asserts how long anything took.

const OPTIONS = (i: number): string =>
  [
    'OPTIONS sip:pay@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-limits-${i}`,
    'From: <sip:qa@127.0.0.1>;tag=l1',
    'To: <sip:pay@127.0.0.1>',
    `Call-ID: limits-${i}`,
    `CSeq: ${i + 1} OPTIONS`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');

const transports: SipTransport[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(transports.splice(0).map((t) => t.stop()));
});

interface Started {
  transport: SipTransport;
  messages: { bytes: Buffer; source: TransportAddress }[];
  drops: { reason: DropReason; source: TransportAddress }[];
}

async function start(options: Partial<SipTransportOptions> = {}): Promise<Started> {
  const transport = new SipTransport({
    host: '127.0.0.1',
    port: 0,
    createFramer: (callbacks) => new SipStreamFramer(callbacks),
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

/** A TCP connection to the transport, from `localAddress` (any 127/8 address works on Linux). */
async function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => undefined);
  sockets.push(socket);
  await once(socket, 'connect');
  return socket;
}

// Not events.once: it rejects on 'error', and the server may end a connection with a reset (ECONNRESET).
const closed = (socket: Socket): Promise<unknown> => (socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', resolve)));

/** Polls until `check` holds; the test's own timeout bounds it. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('SIP transport limits', () => {
  it('drops and counts UDP datagrams over the size cap; one at the cap is delivered', async () => {
    const { transport, messages, drops } = await start({ maxUdpMessageBytes: 2000 });
    const udp = createSocket('udp4');
    const send = (bytes: Buffer): Promise<void> =>
      new Promise((resolve, reject) => udp.send(bytes, transport.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    const atCap = Buffer.alloc(2000, 'a');
    await send(Buffer.alloc(2001, 'b'));
    await send(Buffer.alloc(60_000, 'c'));
    await send(atCap);
    await until(() => messages.length === 1);
    udp.close();
    expect(messages[0]!.bytes.equals(atCap)).toBe(true);
    expect(drops.map((d) => d.reason)).toEqual(['oversized', 'oversized']);
    expect(transport.counters.dropped.oversized).toBe(2);
    expect(transport.counters.udpMessages).toBe(1);
  });

  it('closes TCP connections beyond the total cap before reading them, and takes new ones once some close', async () => {
    const { transport, messages, drops } = await start({ maxTcpConnections: 3 });
    const first = await Promise.all([open(transport.port), open(transport.port), open(transport.port)]);
    await until(() => transport.tcpConnections === 3);
    const extra = await open(transport.port);
    extra.write(OPTIONS(0));
    await closed(extra);
    expect(drops.map((d) => d.reason)).toEqual(['too-many-connections']);
    expect(messages).toHaveLength(0);

    first[0]!.destroy();
    await until(() => transport.tcpConnections === 2);
    const again = await open(transport.port);
    again.write(OPTIONS(1));
    await until(() => messages.length === 1);
    expect(transport.counters).toMatchObject({ tcpAccepted: 4, tcpMessages: 1 });
    expect(transport.counters.dropped['too-many-connections']).toBe(1);
  });

  it('caps connections per source address, leaving room for other sources', async () => {
    const { transport, drops } = await start({ maxTcpConnections: 10, maxTcpConnectionsPerSource: 2 });
    await open(transport.port, '127.0.0.1');
    await open(transport.port, '127.0.0.1');
    await until(() => transport.tcpConnections === 2);
    const third = await open(transport.port, '127.0.0.1');
    await closed(third);
    expect(drops.map((d) => [d.reason, d.source.address])).toEqual([['too-many-from-source', '127.0.0.1']]);

    const other = await open(transport.port, '127.0.0.2');
    await until(() => transport.tcpConnections === 3);
    expect(other.closed).toBe(false);
  });

  it('refuses a connection from outside SIP_ALLOW before reading a byte', async () => {
    const { transport, messages, drops } = await start({ acceptTcpFrom: (address) => address !== '127.0.0.3' });
    const outsider = await open(transport.port, '127.0.0.3');
    outsider.write(OPTIONS(0));
    await closed(outsider);
    expect(drops.map((d) => d.reason)).toEqual(['not-allowed']);
    expect(messages).toHaveLength(0);
    expect(transport.counters.tcpAccepted).toBe(0);
  });

  it('closes an idle connection and a slowloris drip alike; whole messages keep a connection open', async () => {
    const { transport, drops } = await start({ tcpIdleTimeoutMs: 800 });
    // The busy one opens first: had its idle timer not been reset, it would go before the other two.
    const busy = await open(transport.port);
    const silent = await open(transport.port);
    const drip = await open(transport.port);
    const [silentPort, dripPort] = [silent.localPort, drip.localPort];
    const partial = Buffer.from(OPTIONS(0).slice(0, -4), 'latin1');
    let i = 0;
    // The drip sends a byte of a message that never ends every 50 ms; the busy one a keep-alive ping.
    const timer = setInterval(() => {
      if (!drip.closed) drip.write(partial.subarray(i % partial.length, (i % partial.length) + 1));
      if (!busy.closed) busy.write('\r\n\r\n');
      i++;
    }, 50);
    try {
      await Promise.all([closed(silent), closed(drip)]);
      expect(drops.map((d) => [d.reason, d.source.port]).sort()).toEqual(
        [
          ['idle', silentPort],
          ['idle', dripPort],
        ].sort(),
      );
      expect(busy.closed).toBe(false);
      expect(i).toBeGreaterThan(1);
    } finally {
      clearInterval(timer);
    }
  });

  it('cuts off a peer that sends requests but never reads the answers', async () => {
    const { transport, drops } = await start({ maxTcpWriteBacklogBytes: 256 * 1024 });
    const answer = Buffer.alloc(60_000, 'x');
    const failures: unknown[] = [];
    transport.on('message', (_bytes, source) => {
      transport.send(answer, source).catch((err: unknown) => failures.push(err));
    });
    const reader = await open(transport.port);
    reader.pause();
    for (let i = 0; i < 400 && !reader.closed; i++) {
      reader.write(OPTIONS(i));
      if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await closed(reader);
    expect(drops.map((d) => d.reason)).toContain('write-backlog');
    expect(transport.counters.dropped['write-backlog']).toBe(1);
  });

  it('survives a message listener that throws, over UDP and TCP', async () => {
    const { transport, messages } = await start();
    let thrown = 0;
    transport.on('message', () => {
      thrown++;
      throw new Error('listener bug');
    });
    const errors: Error[] = [];
    transport.on('error', (err) => errors.push(err));
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.send(OPTIONS(0), transport.port, '127.0.0.1', () => resolve()));
    const tcp = await open(transport.port);
    tcp.write(OPTIONS(1));
    await until(() => thrown === 2);
    await closed(tcp);
    udp.close();
    expect(messages).toHaveLength(2);
    expect(errors.map((e) => e.message)).toEqual(['listener bug', 'listener bug']);
    // Still serving.
    const next = await open(transport.port);
    next.write(OPTIONS(2));
    await until(() => messages.length === 3);
  });
});
