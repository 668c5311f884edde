/**
 * `npm run qa -- --target HOST:PORT [options]`: runs the SIPp scenario
 * library (tests/sipp, scripts/qa/qa-scenarios.ts) against any deployment,
 * prints a table, writes JUnit XML, and exits 1 if any scenario failed, 2
 * on bad usage or an unreachable target (checked before any scenario runs).
 * The options are in USAGE below (`--help`).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';
import { checkApi, checkSipTarget, QaUnreachableError } from './qa/qa-preflight.js';
import { qaJunit, qaTable } from './qa/qa-report.js';
import { runQa } from './qa/qa-runner.js';
import { QA_SCENARIOS } from './qa/qa-scenarios.js';

const USAGE = `Usage: npm run qa -- --target HOST:PORT [options]

Runs the SIPp scenario library against a deployment of the payment IVR and
checks each outcome through its payments API. Exit 0: all passed; 1: a
scenario failed; 2: bad usage, or the SIP target or the API cannot be reached.
Run as root: SIPp's play_dtmf sends RTP through a raw socket.

  --target HOST:PORT         the IVR's SIP address (required)
  --scenario NAME[,NAME]     only these (repeatable); --all adds the slow ones
  --list                     the scenarios and what each checks
  --api URL                  agent-bridge (default http://HOST:8080); --no-api: SIPp's verdict only
  --api-key KEY              default $QA_API_KEY, else ./data/admin-api-key
  --agent-port PORT          where the SIPp agent phone listens for the IVR's call-back
  --local-ip IP              this machine's address as the IVR sees it (default: loopback for a loopback target)
  --pay-number USER          PAY_NUMBER (default pay)
  --references R1,R2,...     orders the deployment knows (default the demo orders 1001,1002,1003)
  --parallel N               scenarios side by side (needs a reference each)
  --first-digit-timeout-ms N the deployment's FIRST_DIGIT_TIMEOUT_MS (default 10000)
  --load-calls N             calls of the load scenario (default 10)
  --junit FILE               default qa-results.xml
  -h, --help                 this text

Example, against npm start on this machine:
  npm run qa -- --target 127.0.0.1:5060 --api-key "$(cat data/admin-api-key)"`;

const OPTIONS = {
  help: { type: 'boolean', short: 'h', default: false },
  target: { type: 'string' },
  scenario: { type: 'string', multiple: true },
  all: { type: 'boolean', default: false },
  list: { type: 'boolean', default: false },
  api: { type: 'string' },
  'no-api': { type: 'boolean', default: false },
  'api-key': { type: 'string' },
  'agent-port': { type: 'string' },
  'local-ip': { type: 'string' },
  'pay-number': { type: 'string', default: 'pay' },
  references: { type: 'string', default: '1001,1002,1003' },
  parallel: { type: 'string', default: '1' },
  'first-digit-timeout-ms': { type: 'string', default: '10000' },
  'load-calls': { type: 'string', default: '10' },
  junit: { type: 'string', default: 'qa-results.xml' },
} as const;

const fail = (message: string): never => {
  console.error(`qa: ${message}`);
  process.exit(2);
};

const { values } = (() => {
  try {
    return parseArgs({ options: OPTIONS });
  } catch (err) {
    // An unknown option or a missing value: one line and the way to the usage, not a stack trace.
    return fail(`${err instanceof Error ? err.message : String(err)} (--help shows the options)`);
  }
})();

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

if (values.list) {
  const indent = ' '.repeat(30);
  console.log(`${'SCENARIO'.padEnd(30)}WHAT IT DOES (slow: only by name or with --all)`);
  for (const s of QA_SCENARIOS) console.log(`${s.name.padEnd(30)}${s.slow ? '(slow) ' : ''}${s.description}\n${indent}checks: ${s.checks}`);
  process.exit(0);
}

const [hostPart, portText] = (values.target ?? fail('--target HOST:PORT is required')).split(/:(?=\d+$)/);
const port = Number(portText ?? 5060);
const host = hostPart && Number.isInteger(port) ? hostPart : fail('--target must be HOST:PORT');

const wanted = (values.scenario ?? []).flatMap((s) => s.split(',')).filter(Boolean);
const unknown = wanted.filter((name) => !QA_SCENARIOS.some((s) => s.name === name));
if (unknown.length > 0) fail(`unknown scenario ${unknown.join(', ')} (--list shows them)`);
const scenarios = wanted.length > 0 ? QA_SCENARIOS.filter((s) => wanted.includes(s.name)) : QA_SCENARIOS.filter((s) => values.all || !s.slow);

const apiKey = values['api-key'] ?? process.env.QA_API_KEY ?? (existsSync('data/admin-api-key') ? readFileSync('data/admin-api-key', 'utf8').trim() : undefined);
const api = values['no-api'] ? undefined : { url: values.api ?? `http://${host}:8080`, key: apiKey ?? fail('no API key: --api-key, $QA_API_KEY, or --no-api') };

const loopback = host === 'localhost' || host.startsWith('127.') || host === '::1';
const localIp = values['local-ip'] ?? (loopback ? '127.0.0.1' : firstExternalIpv4() ?? fail('--local-ip is needed: no external IPv4 address found'));

// Reachability once, up front: otherwise every scenario fails with the same network error.
const unreachable = (
  await Promise.allSettled([checkSipTarget({ host, port, localIp }), ...(api ? [checkApi(api)] : [])])
).flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof QaUnreachableError ? r.reason.message : String(r.reason)] : []));
if (unreachable.length > 0) fail(unreachable.join('; '));

const results = await runQa({
  target: {
    host,
    port,
    payNumber: values['pay-number'],
    localIp,
    ...(api ? { api } : {}),
    ...(values['agent-port'] ? { agentPort: Number(values['agent-port']) } : {}),
    references: values.references.split(',').filter(Boolean),
    firstDigitTimeoutMs: Number(values['first-digit-timeout-ms']),
    loadCalls: Number(values['load-calls']),
  },
  scenarios,
  parallel: Number(values.parallel),
  onResult: (r) => console.error(`${r.result.toUpperCase().padEnd(4)} ${r.scenario} (${(r.durationMs / 1000).toFixed(1)} s)${r.reason ? `: ${r.reason}` : ''}`),
});

console.log(qaTable(results));
writeFileSync(values.junit, qaJunit(results));
console.log(`JUnit XML: ${values.junit}`);
process.exit(results.some((r) => r.result === 'fail') ? 1 : 0);

function firstExternalIpv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return undefined;
}
