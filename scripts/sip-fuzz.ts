/**
 * Seeded SIP fuzzer: sends malformed, truncated, oversized and oddly encoded
 * SIP messages over UDP and TCP to a SIP server, with slowloris connections
 * and a connection flood alongside, and prints what it sent and what came back.
 * The target is judged elsewhere (calls in progress still completing, the
 * process up, memory bounded): see tests/integration/robustness/.
 *
 *   npm run fuzz:sip -- --target 127.0.0.1:5060 [--seed 1] [--count 10000]
 *     [--tcp-share 0.3] [--duration-ms 0] [--slowloris 32] [--slowloris-ms 5000]
 *     [--flood 300] [--json]
 *   npm run fuzz:sip -- --seed 1 --show 1234      one message of a run, escaped, to replay a finding
 *
 * Point it only at systems you run: it is a denial-of-service tool by design.
 */
import { isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { fuzzCase } from './sip-fuzz/fuzz-case.js';
import { runSipFuzz, type SipFuzzReport } from './sip-fuzz/sip-fuzzer.js';

/** The figures as lines of text, for the console and the closing note. */
export function formatFuzzReport(report: SipFuzzReport): string {
  const total = report.sent.udp + report.sent.tcp;
  const kib = (n: number): string => `${Math.round(n / 1024).toLocaleString('en-GB')} KiB`;
  const statuses = (byStatus: Record<string, number>): string =>
    Object.entries(byStatus)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => `${status}×${n}`)
      .join(' ') || 'none';
  const mutations = Object.entries(report.byMutation)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  return [
    `SIP fuzz of ${report.target}, seed ${report.seed}: ${total.toLocaleString('en-GB')} messages in ${(report.durationMs / 1000).toFixed(1)} s`,
    `  UDP ${report.sent.udp.toLocaleString('en-GB')} (${kib(report.bytes.udp)}, ${report.nearMaxDatagrams} datagrams of 60 000–65 507 bytes)`,
    `  TCP ${report.sent.tcp.toLocaleString('en-GB')} (${kib(report.bytes.tcp)}) on ${report.tcp.connections} connections, ${report.tcp.closedByPeer} closed by the server`,
    `  refused by the project's parser: ${report.refusedByParser.toLocaleString('en-GB')} of ${total.toLocaleString('en-GB')}`,
    `  seeds: ${Object.entries(report.bySeed).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    `  mutations: ${mutations}`,
    `  answers over UDP: ${statuses(report.responses.udp)}`,
    `  answers over TCP: ${statuses(report.responses.tcp)}`,
    `  slowloris: ${report.slowloris.opened} opened, ${report.slowloris.closedByPeer} closed by the server`,
    `  connection flood: ${report.flood.opened} opened, ${report.flood.refused} refused by the server, ${report.flood.held} held`,
  ].join('\n');
}

/** `host:port`, `[v6]:port`. */
export function parseTarget(target: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(target) ?? /^([^:]+):(\d+)$/.exec(target);
  const port = Number(match?.[2]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`--target HOST:PORT, not ${target}`);
  return { host: match[1]!, port };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      seed: { type: 'string', default: '1' },
      count: { type: 'string', default: '10000' },
      'tcp-share': { type: 'string', default: '0.3' },
      'duration-ms': { type: 'string', default: '0' },
      slowloris: { type: 'string', default: '32' },
      'slowloris-ms': { type: 'string', default: '5000' },
      flood: { type: 'string', default: '300' },
      json: { type: 'boolean', default: false },
      show: { type: 'string' },
    },
  });
  const seed = Number(values.seed);
  const number = (name: keyof typeof values): number => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`--${name} takes a number`);
    return n;
  };
  const target = parseTarget(values.target ?? '127.0.0.1:5060');
  if (values.show !== undefined) {
    const local = isIPv6(target.host) ? '::1' : '127.0.0.1';
    const at = { targetHost: target.host, targetPort: target.port, viaHost: local, viaPort: 5060 };
    const c = fuzzCase(seed, number('show'), {
      tcpShare: number('tcp-share'),
      addressing: { udp: { ...at, transport: 'UDP' }, tcp: { ...at, transport: 'TCP' } },
    });
    console.log(`message ${c.index}: ${c.transport}, ${c.seed}, ${c.mutations.join(' + ')}, ${c.bytes.length} bytes`);
    console.log(JSON.stringify(c.bytes.toString('latin1')));
    return;
  }
  if (values.target === undefined) throw new RangeError('--target HOST:PORT is required');
  const report = await runSipFuzz({
    ...target,
    seed,
    count: number('count'),
    tcpShare: number('tcp-share'),
    durationMs: number('duration-ms'),
    slowloris: number('slowloris'),
    slowlorisMs: number('slowloris-ms'),
    flood: number('flood'),
  });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatFuzzReport(report));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  });
}
