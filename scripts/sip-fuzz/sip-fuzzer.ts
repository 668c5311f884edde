import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6, type Socket } from 'node:net';
import { parseSipMessage, SipParseError } from '../../media-server/embedded/sip/message/index.js';
import { fuzzCase, fuzzCaseTransport, type FuzzCase, type FuzzCaseOptions, type FuzzTransport } from './fuzz-case.js';
import { MUTATION_NAMES, type MutationName } from './sip-mutations.js';
import type { SeedAddressing, SeedMethod } from './sip-seed-messages.js';

export interface SipFuzzOptions {
  /** The SIP server under test (UDP and TCP on the same port). */
  readonly host: string;
  readonly port: number;
  /** Same seed, same messages. */
  readonly seed: number;
  /** Messages to send, UDP and TCP together. */
  readonly count: number;
  /** Share sent over TCP. Default 0.3. */
  readonly tcpShare?: number;
  /** TCP connections sending at once. Default 8. */
  readonly tcpWorkers?: number;
  /** Messages per TCP connection before it is closed and a new one opened. Default 25. */
  readonly messagesPerConnection?: number;
  /** Spread the messages over at least this long (to overlap calls in progress). Default 0: as fast as pacing allows. */
  readonly durationMs?: number;
  /** Slowloris connections: each drips a message that never ends, a byte at a time. Default 32. */
  readonly slowloris?: number;
  /** How long a slowloris connection drips before the fuzzer gives up on it. Default 5000 ms. */
  readonly slowlorisMs?: number;
  /** Connections opened at once and held, to meet the connection caps. Default 300. */
  readonly flood?: number;
  /** How long the flood's connections are held. Default 1000 ms. */
  readonly floodHoldMs?: number;
  /** Local address to send from. Default: 127.0.0.1 or ::1 after the target's family. */
  readonly localAddress?: string;
}

/** What a fuzz run did, for the console and the closing note. */
export interface SipFuzzReport {
  readonly seed: number;
  readonly target: string;
  readonly sent: Record<FuzzTransport, number>;
  readonly bytes: Record<FuzzTransport, number>;
  /** Messages carrying each mutation (a message may carry up to three). */
  readonly byMutation: Record<MutationName, number>;
  readonly bySeed: Record<SeedMethod | 'response', number>;
  /** Of the messages sent, those the project's own parser refuses (the rest are broken in ways it tolerates). */
  readonly refusedByParser: number;
  /** Datagrams sent at or above 60 000 bytes. */
  readonly nearMaxDatagrams: number;
  /** Answers received, by status code. */
  readonly responses: Record<FuzzTransport, Record<string, number>>;
  readonly tcp: { connections: number; closedByPeer: number; writeFailures: number };
  readonly slowloris: { opened: number; closedByPeer: number };
  readonly flood: { opened: number; refused: number; held: number };
  readonly durationMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const statusOf = (data: Buffer | string): string | undefined => /^SIP\/2\.0 (\d{3}) /.exec(data.toString('latin1'))?.[1];

/** A client connection that knows whether the server closed it first (refused, idle, framing error). */
interface Tracked {
  readonly socket: Socket;
  /** Resolves true once connected, false if it closed first. */
  readonly connected: Promise<boolean>;
  readonly closed: Promise<void>;
  /** True once the server ended or reset it before we closed it. */
  closedByPeer(): boolean;
  close(): void;
}

function track(socket: Socket): Tracked {
  let ours = false;
  let peer = false;
  socket.on('error', () => {
    if (!ours) peer = true;
  });
  socket.on('end', () => {
    if (!ours) peer = true;
  });
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      if (!ours) peer = true;
      resolve();
    }),
  );
  const connected = new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true));
    void closed.then(() => resolve(false));
  });
  return {
    socket,
    connected,
    closed,
    closedByPeer: () => peer,
    close() {
      if (!peer) ours = true;
      socket.destroy();
    },
  };
}

/** Whether the project's parser refuses these bytes as they would arrive. */
function refused(c: FuzzCase): boolean {
  try {
    parseSipMessage(c.bytes, { transport: c.transport });
    return false;
  } catch (err) {
    if (err instanceof SipParseError) return true;
    throw err;
  }
}

/**
 * Sends `count` fuzzed SIP messages over UDP and TCP to one server, while
 * slowloris connections drip never-ending messages and a flood of
 * connections meets its caps. Never asserts anything about the target: it
 * reports what it sent and what came back, and the caller judges.
 */
export async function runSipFuzz(options: SipFuzzOptions): Promise<SipFuzzReport> {
  const started = Date.now();
  const local = options.localAddress ?? (isIPv6(options.host) ? '::1' : '127.0.0.1');
  const udp = createSocket(isIPv6(local) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, local, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  udp.on('error', () => undefined);
  const viaPort = udp.address().port;
  const addressing = (transport: 'UDP' | 'TCP'): SeedAddressing => ({
    targetHost: options.host,
    targetPort: options.port,
    viaHost: local,
    viaPort,
    transport,
  });
  const caseOptions: FuzzCaseOptions = { tcpShare: options.tcpShare ?? 0.3, addressing: { udp: addressing('UDP'), tcp: addressing('TCP') } };

  const report = {
    seed: options.seed,
    target: `${options.host}:${options.port}`,
    sent: { udp: 0, tcp: 0 },
    bytes: { udp: 0, tcp: 0 },
    byMutation: Object.fromEntries(MUTATION_NAMES.map((n) => [n, 0])) as Record<MutationName, number>,
    bySeed: { INVITE: 0, OPTIONS: 0, INFO: 0, BYE: 0, response: 0 },
    refusedByParser: 0,
    nearMaxDatagrams: 0,
    responses: { udp: {} as Record<string, number>, tcp: {} as Record<string, number> },
    tcp: { connections: 0, closedByPeer: 0, writeFailures: 0 },
    slowloris: { opened: 0, closedByPeer: 0 },
    flood: { opened: 0, refused: 0, held: 0 },
    durationMs: 0,
  };
  const countResponse = (transport: FuzzTransport, status: string | undefined): void => {
    if (status) report.responses[transport][status] = (report.responses[transport][status] ?? 0) + 1;
  };
  udp.on('message', (data) => countResponse('udp', statusOf(data)));

  // Message numbers by transport; each message is made when it is sent.
  const udpCases: number[] = [];
  const tcpCases: number[] = [];
  for (let i = 0; i < options.count; i++) {
    (fuzzCaseTransport(options.seed, i, caseOptions.tcpShare) === 'udp' ? udpCases : tcpCases).push(i);
  }
  const make = (index: number): FuzzCase => fuzzCase(options.seed, index, caseOptions);
  const sentOne = (c: FuzzCase): void => {
    report.sent[c.transport]++;
    report.bytes[c.transport] += c.bytes.length;
    report.bySeed[c.seed]++;
    for (const m of c.mutations) report.byMutation[m]++;
    if (refused(c)) report.refusedByParser++;
    if (c.transport === 'udp' && c.bytes.length >= 60_000) report.nearMaxDatagrams++;
  };

  const durationMs = options.durationMs ?? 0;
  const connectTo = (): Socket => connect({ host: options.host, port: options.port, localAddress: local });

  const udpDone = sendUdp(udp, udpCases, make, options, durationMs, sentOne);
  const tcpDone = sendTcp(tcpCases, make, options, durationMs, connectTo, report, sentOne, countResponse);
  const slowDone = slowloris(options, connectTo, report);
  const floodDone = sleep(Math.min(500, durationMs / 4)).then(() => flood(options, connectTo, report));
  await Promise.all([udpDone, tcpDone, floodDone, slowDone]);
  // Late answers to the last datagrams.
  await sleep(200);
  udp.close();
  report.durationMs = Date.now() - started;
  return report;
}

/** Paces a sender: yields every few messages, and keeps message k no earlier than k/total of `durationMs`. */
function pacer(total: number, durationMs: number): (k: number) => Promise<void> {
  const start = Date.now();
  return async (k) => {
    const due = total > 0 ? start + (k * durationMs) / total : start;
    const wait = due - Date.now();
    if (wait > 1) await sleep(wait);
    else if (k % 16 === 15) await sleep(1);
  };
}

async function sendUdp(
  udp: UdpSocket,
  cases: readonly number[],
  make: (index: number) => FuzzCase,
  options: SipFuzzOptions,
  durationMs: number,
  sentOne: (c: FuzzCase) => void,
): Promise<void> {
  const pace = pacer(cases.length, durationMs);
  for (let k = 0; k < cases.length; k++) {
    const c = make(cases[k]!);
    await pace(k);
    const ok = await new Promise<boolean>((resolve) => udp.send(c.bytes, options.port, options.host, (err) => resolve(!err)));
    if (ok) sentOne(c);
    // A near-64 KiB datagram fills a default-sized receive buffer in a few: let the server read.
    if (c.bytes.length > 16_384) await sleep(1);
  }
}

async function sendTcp(
  cases: readonly number[],
  make: (index: number) => FuzzCase,
  options: SipFuzzOptions,
  durationMs: number,
  connectTo: () => Socket,
  report: { tcp: SipFuzzReport['tcp'] },
  sentOne: (c: FuzzCase) => void,
  countResponse: (transport: FuzzTransport, status: string | undefined) => void,
): Promise<void> {
  const workers = Math.max(1, options.tcpWorkers ?? 8);
  const perConnection = Math.max(1, options.messagesPerConnection ?? 25);
  const pace = pacer(cases.length, durationMs);
  let next = 0;

  /** A connection that counts the answers on it; undefined when the server would not take it. */
  const open = async (): Promise<Tracked | undefined> => {
    const connection = track(connectTo());
    connection.socket.on('data', (data: Buffer) => {
      for (const line of data.toString('latin1').split('\r\n')) countResponse('tcp', statusOf(line));
    });
    report.tcp.connections++;
    // A server at its connection cap accepts and closes at once: give the close a moment to show.
    if ((await connection.connected) && (await sleep(2), !connection.closedByPeer())) return connection;
    report.tcp.closedByPeer++;
    connection.close();
    return undefined;
  };
  const finish = async (connection: Tracked): Promise<void> => {
    // Let the answers to the last messages come back before closing.
    await sleep(5);
    if (connection.closedByPeer()) report.tcp.closedByPeer++;
    connection.close();
  };

  const write = (socket: Socket, bytes: Buffer): Promise<boolean> =>
    new Promise((resolve) => {
      if (socket.destroyed || !socket.writable) return resolve(false);
      socket.write(bytes, (err) => resolve(!err));
    });

  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const connection = await open();
      if (!connection) {
        await sleep(10);
        continue;
      }
      for (let sent = 0; sent < perConnection && next < cases.length; sent++) {
        const k = next++;
        const c = make(cases[k]!);
        await pace(k);
        if (!connection.closedByPeer() && (await write(connection.socket, c.bytes))) {
          sentOne(c);
          continue;
        }
        // The server closed this one (a message it could not frame, or a cap): again on fresh connections,
        // backing off while the server refuses them (the flood may be holding the per-source cap).
        report.tcp.writeFailures++;
        for (let attempt = 0; attempt < 100; attempt++) {
          const retry = await open();
          const written = retry !== undefined && (await write(retry.socket, c.bytes));
          if (retry) await finish(retry);
          if (written) {
            sentOne(c);
            break;
          }
          await sleep(Math.min(10 * (attempt + 1), 100));
        }
        break;
      }
      await finish(connection);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

/** Connections that send the start of an INVITE and then a byte at a time, never finishing it. */
async function slowloris(
  options: SipFuzzOptions,
  connectTo: () => Socket,
  report: { slowloris: SipFuzzReport['slowloris'] },
): Promise<void> {
  const count = options.slowloris ?? 32;
  const giveUpAt = Date.now() + (options.slowlorisMs ?? 5_000);
  const drip = Buffer.from(`INVITE sip:slow@${options.host} SIP/2.0\r\nVia: SIP/2.0/TCP slow.invalid;branch=z9hG4bK-slow\r\nX-Slow: `, 'latin1');
  const one = async (): Promise<void> => {
    const connection = track(connectTo());
    if (!(await connection.connected)) {
      report.slowloris.closedByPeer++;
      return;
    }
    report.slowloris.opened++;
    for (let i = 0; !connection.closedByPeer() && Date.now() < giveUpAt; i++) {
      if (connection.socket.writable) connection.socket.write(i < drip.length ? drip.subarray(i, i + 1) : 'a');
      await Promise.race([sleep(100), connection.closed]);
    }
    if (connection.closedByPeer()) report.slowloris.closedByPeer++;
    connection.close();
  };
  await Promise.all(Array.from({ length: count }, one));
}

/** Many connections at once, held open: the server's connection caps meet them. */
async function flood(options: SipFuzzOptions, connectTo: () => Socket, report: { flood: SipFuzzReport['flood'] }): Promise<void> {
  const count = options.flood ?? 300;
  const connections: Tracked[] = [];
  for (let i = 0; i < count; i++) {
    connections.push(track(connectTo()));
    // Stay within the listen backlog.
    if (i % 50 === 49) await sleep(10);
  }
  report.flood.opened = count;
  await sleep(options.floodHoldMs ?? 1_000);
  report.flood.refused = connections.filter((c) => c.closedByPeer()).length;
  report.flood.held = count - report.flood.refused;
  for (const connection of connections) connection.close();
}
