/**
 * `npm run bench [-- --steps 10,50,100,200,400] [--mixed 1000] [--agent-steps 10,100] [--inline-steps 100] [--smoke] [--profile DIR] [--out FILE]`
 *
 * Starts the system on its embedded defaults (a fresh data folder), drives it
 * with SIPp on loopback at rising numbers of concurrent direct-pay calls (each
 * the full DTMF flow to `approved`), a mixed step where a tenth of the
 * callers pay and the rest listen without keying, agent-assisted steps (a
 * SIPp agent phone per call, masking on), in-line steps (calls relayed to a
 * SIPp PBX, a tenth paying on the live call: bench/inline-step.ts), and the same steps of SIPp calling a
 * SIPp UAS with -rtp_echo as the baseline. Per step: calls approved, CPU and
 * RSS of the system process, RTP send-interval jitter of what it sent (a
 * tcpdump sample of the steady window). Prints a table and writes JSON
 * (default bench/results.json). Run as root: SIPp's play_dtmf uses raw
 * sockets, tcpdump needs them too, and net.core.rmem_default is raised for
 * the run (SIPp ignores -rtp_buffsize) and restored after.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { projectRoot } from '../app/project-root.js';
import { freePort, killAllSipp, runSipp, SippPortSequence, startSipp, type SippRun } from '../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../tools/system-process.js';
import { startCapture } from '../tools/capture/tcpdump.js';
import { TEST_CARDS } from '../tools/test-cards.js';
import type { UdpDatagram } from '../tools/capture/pcap-reader.js';
import { pcmuAudio, rtpTo } from '../tools/capture/rtp-capture.js';
import { DtmfDetector } from '../media-server/embedded/media/dtmf-detector.js';
import { writeDtmfUlaw } from '../tools/dtmf-audio.js';
import WebSocket from 'ws';
import { cpuPercent, cpuSample, rssMiB, watchPeakRss } from './process-usage.js';
import { quantile, sendIntervalDeviations } from './rtp-timing.js';
import { inlineStep, type InlineStep } from './inline-step.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string' },
    'agent-steps': { type: 'string' },
    'inline-steps': { type: 'string' },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string', default: join(projectRoot(), 'bench/results.json') },
    'max-failure-rate': { type: 'string', default: '0.005' },
    /** Calls in the mixed step: a tenth pay with RFC 4733 keys, the rest stay on the line without keying. */
    mixed: { type: 'string' },
    /** Writes a V8 CPU profile of the system under test into this folder (node --cpu-prof). */
    profile: { type: 'string' },
  },
});

const steps = (values.steps ?? (values.smoke ? '2' : '10,50,100,200,400')).split(',').map(Number).filter((n) => n > 0);
const agentSteps = (values['agent-steps'] ?? (values.smoke ? '2' : '10,100')).split(',').map(Number).filter((n) => n > 0);
const inlineSteps = (values['inline-steps'] ?? (values.smoke ? '10' : '100')).split(',').map(Number).filter((n) => n > 0);
const mixedSteps = (values.mixed ?? (values.smoke ? '10' : '1000')).split(',').map(Number).filter((n) => n > 0);
const maxFailureRate = Number(values['max-failure-rate']);
/** The share of the mixed step's callers who key a card payment. */
const KEYING_SHARE = 0.1;
/** Calls started per second in the mixed step (payers and listeners together). */
const MIXED_RAMP_RATE = 100;
/** Calls started per second while a step ramps up. */
const RAMP_RATE = 40;
const RTP_MIN = 20000;
const RTP_MAX = 29998;
/** A public test card that approves. */
const VISA = TEST_CARDS.visa;

export interface StepResult {
  readonly calls: number;
  /** Callers who key a card payment; the others (the mixed step) listen, keying nothing, then hang up. */
  readonly payers: number;
  readonly listeners: number;
  /** Listeners whose call ran its course (SIPp's successful calls). */
  readonly listenersCompleted: number;
  readonly approved: number;
  readonly failed: number;
  readonly failureRate: number;
  readonly cpuPct: number;
  readonly cpuPerCallPct: number;
  readonly rssPeakMiB: number;
  readonly rssPerCallMiB: number;
  readonly rtpJitterP50Ms: number;
  readonly rtpJitterP99Ms: number;
  readonly rtpPacketsSampled: number;
  readonly durationS: number;
}

export interface AgentStep {
  readonly calls: number;
  readonly approved: number;
  readonly failureRate: number;
  /** Masked digit on the agent's WebSocket minus the RFC 4733 end packet of that key (negative: before the key was released). */
  readonly keyToAgentP50Ms: number | null;
  readonly keyToAgentP99Ms: number | null;
  readonly keyToAgentMaxMs: number | null;
  readonly keysMatched: number;
  /** The same from the key's first RFC 4733 packet: we report a key when it starts, so this is the delay we add. */
  readonly keyStartToAgentP50Ms: number | null;
  readonly keyStartToAgentP99Ms: number | null;
  /** Key-event packets, and ms of detectable DTMF tone, in what the agent phones received. */
  readonly eventPacketsToAgent: number;
  readonly toneLeakMs: number;
}

export interface BaselineStep {
  readonly calls: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly failureRate: number;
}

const work = mkdtempSync(join(tmpdir(), 'bench-'));
const rmemBefore = readSysctl('net.core.rmem_default');
setSysctl('net.core.rmem_default', '4194304');
let system: RunningSystem | undefined;
let pbx: ReturnType<typeof startSipp> | undefined;
try {
  const ports = new SippPortSequence(40000);
  // In-line mode's PBX for the in-line steps: other numbers than the pay number are relayed to it.
  const pbxPort = await ports.next();
  system = await startSystem({
    INLINE_ROUTE: `sip:{user}@127.0.0.1:${pbxPort}`,
    DATA_DIR: join(work, 'data'),
    HTTP_PORT: String(await freePort(31000)),
    SIP_PORT: String(await freePort(33000)),
    RTP_PORT_MIN: String(RTP_MIN),
    RTP_PORT_MAX: String(RTP_MAX + 1),
    LOG_LEVEL: 'info',
    RECORDING: 'on',
  }, { nodeArgs: values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [] });
  const idleRss = rssMiB(system.pid);

  const direct: StepResult[] = [];
  for (const calls of steps) {
    const step = await directPayStep(system, ports, calls, idleRss);
    direct.push(step);
    log(`direct pay ${calls}: ${step.approved} approved, ${step.failed} failed, CPU ${step.cpuPct.toFixed(0)} %, jitter p99 ${step.rtpJitterP99Ms.toFixed(2)} ms`);
    if (step.failureRate > maxFailureRate) break;
  }
  const mixed: StepResult[] = [];
  for (const calls of mixedSteps) {
    const step = await directPayStep(system, ports, calls, idleRss, KEYING_SHARE);
    mixed.push(step);
    log(`mixed ${calls}: ${step.approved}/${step.payers} payers approved, ${step.listenersCompleted}/${step.listeners} listeners completed, CPU ${step.cpuPct.toFixed(0)} %, jitter p99 ${step.rtpJitterP99Ms.toFixed(2)} ms`);
    if (step.failureRate > maxFailureRate) break;
  }
  const agent: AgentStep[] = [];
  for (const calls of agentSteps) {
    const step = await agentAssistedStep(system, ports, calls);
    agent.push(step);
    log(`agent-assisted ${calls}: ${step.approved} approved, key-to-agent p50 ${step.keyToAgentP50Ms} ms p99 ${step.keyToAgentP99Ms} ms over ${step.keysMatched} keys, tone leaked ${step.toneLeakMs} ms`);
    if (step.failureRate > maxFailureRate) break;
  }
  const inline: InlineStep[] = [];
  pbx = startSipp(['-sn', 'uas', '-rtp_echo', '-i', '127.0.0.1', '-p', String(pbxPort), '-mp', String(pbxPort + 2)]);
  for (const calls of inlineSteps) {
    const step = await inlineStep(system, ports, calls, rssMiB(system.pid), { api, countApprovedAmong, sippCounts, work });
    inline.push(step);
    log(`in-line ${calls}: ${step.approved}/${step.payers} payers approved, ${step.relayedCompleted}/${step.calls - step.payers} relayed completed, CPU ${step.cpuPct.toFixed(0)} %, RSS/call ${step.rssPerCallMiB.toFixed(2)} MiB`);
    if (step.failureRate > maxFailureRate) break;
  }
  pbx.child.kill('SIGKILL');
  await system.stop();
  system = undefined;

  const baseline: BaselineStep[] = [];
  for (const calls of [...new Set([...steps, ...mixedSteps])].sort((a, b) => a - b)) {
    const step = await baselineStep(ports, calls);
    baseline.push(step);
    log(`baseline ${calls}: ${step.succeeded} succeeded, ${step.failed} failed`);
    if (step.failureRate > maxFailureRate) break;
  }

  // "Highest step with no failure"; the steps go on while at most maxFailureRate fail.
  const best = [...direct].reverse().find((s) => s.failed === 0);
  const withinBound = [...direct].reverse().find((s) => s.failureRate <= maxFailureRate);
  const bestBaseline = [...baseline].reverse().find((b) => b.failed === 0 && steps.includes(b.calls));
  const at200 = direct.find((s) => s.calls === 200) ?? best;
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    command: `npm run bench -- --steps ${steps.join(',')} --mixed ${mixedSteps.join(',')} --agent-steps ${agentSteps.join(',')} --inline-steps ${inlineSteps.join(',')}`,
    directPayMaxCalls: best?.calls ?? 0,
    directPayMaxCallsWithinFailureBound: withinBound?.calls ?? 0,
    mixedMaxCalls: [...mixed].reverse().find((s) => s.failed === 0)?.calls ?? 0,
    baselineMaxCalls: bestBaseline?.calls ?? 0,
    baselineRatio: bestBaseline && best ? best.calls / bestBaseline.calls : null,
    mixedBaselineMaxCalls: [...baseline].reverse().find((b) => b.failed === 0 && mixedSteps.includes(b.calls))?.calls ?? 0,
    cpuPerCallPct: best?.cpuPerCallPct ?? null,
    rssPerCallMiB: best?.rssPerCallMiB ?? null,
    rtpJitterP99Ms: at200?.rtpJitterP99Ms ?? null,
    agentAssistedMaxCalls: [...agent].reverse().find((a) => a.approved === a.calls)?.calls ?? 0,
    keyToAgentP50Ms: keyStep(agent)?.keyToAgentP50Ms ?? null,
    keyToAgentP99Ms: keyStep(agent)?.keyToAgentP99Ms ?? null,
    keyStartToAgentP99Ms: keyStep(agent)?.keyStartToAgentP99Ms ?? null,
    toneLeakMs: agent.reduce((max, a) => Math.max(max, a.toneLeakMs), 0),
    inlineMaxCalls: [...inline].reverse().find((s) => s.failed === 0)?.calls ?? 0,
    inlineCpuPerCallPct: [...inline].reverse().find((s) => s.failed === 0)?.cpuPerCallPct ?? null,
    inlineRssPerCallMiB: [...inline].reverse().find((s) => s.failed === 0)?.rssPerCallMiB ?? null,
    steps: { direct, mixed, agent, inline, baseline },
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(table(direct, baseline));
  console.log('');
  if (mixed.length > 0) {
    console.log(`mixed: a tenth of the callers pay, the rest listen without keying`);
    console.log(table(mixed, baseline));
    console.log('');
  }
  console.log(agentTable(agent));
  for (const step of inline) {
    console.log(`in-line ${step.calls} relayed calls (${step.payers} paying): ${step.approved} approved, ${step.failed} failed, CPU ${step.cpuPerCallPct.toFixed(2)} %/call, RSS ${step.rssPerCallMiB.toFixed(2)} MiB/call`);
  }
  console.log(`\nmachine: ${results.machine.cpus} cores (${results.machine.cpuModel}), ${results.machine.memoryGiB} GiB; ${results.date}`);
  console.log(
    `direct pay: ${results.directPayMaxCalls} concurrent calls with no failure (${results.directPayMaxCallsWithinFailureBound} within ${maxFailureRate * 100} %); ` +
      `baseline (SIPp to SIPp -rtp_echo): ${results.baselineMaxCalls}; mixed: ${results.mixedMaxCalls} with no failure; written to ${values.out}`,
  );
} finally {
  pbx?.child.kill('SIGKILL');
  killAllSipp();
  await system?.stop();
  if (rmemBefore) setSysctl('net.core.rmem_default', rmemBefore);
  rmSync(work, { recursive: true, force: true });
}

/**
 * One step of concurrent direct-pay calls, each keying a whole card payment
 * with RFC 4733 events. With `keyingShare` under 1 (the mixed step), only that
 * share pays; the others call the same number, listen to the prompts without
 * keying (SIPp's built-in uac: no RTP of their own) and hang up once every
 * call of the step is up and measured.
 */
async function directPayStep(sys: RunningSystem, ports: SippPortSequence, calls: number, idleRss: number, keyingShare = 1): Promise<StepResult> {
  const payers = Math.max(1, Math.round(calls * keyingShare));
  const listeners = calls - payers;
  const port = await ports.next();
  const started = new Date();
  const rampMs = (calls / (listeners > 0 ? MIXED_RAMP_RATE : RAMP_RATE)) * 1000;
  const peak = watchPeakRss(sys.pid);
  const run = runSipp({
    args: [
      `127.0.0.1:${sys.sipPort}`,
      '-sf', join(projectRoot(), 'tests/sipp/direct-pay-rfc4733.xml'),
      '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2),
      // `payers` calls per ramp: all of them started within it.
      '-m', String(payers), '-l', String(payers), '-r', String(payers), '-rp', String(Math.max(1, Math.round(rampMs))),
      '-key', 'ref', '1001', '-key', 'pan', VISA, '-key', 'exp', '1230', '-key', 'cvv', '123',
    ],
    timeoutMs: rampMs + 120_000,
  });
  let listening: Promise<SippRun> | undefined;
  if (listeners > 0) {
    const listenerPort = await ports.next();
    listening = runSipp({
      args: [
        `127.0.0.1:${sys.sipPort}`, '-sn', 'uac', '-s', 'pay', '-i', '127.0.0.1', '-p', String(listenerPort), '-mp', String(listenerPort + 2),
        '-m', String(listeners), '-l', String(listeners), '-r', String(listeners), '-rp', String(Math.max(1, Math.round(rampMs))),
        // On the line through the measurement window, hanging up before the IVR gives up on them (three 10 s reference timeouts).
        '-d', String(Math.round(rampMs + 8000)),
      ],
      timeoutMs: rampMs + 120_000,
    });
  }
  // Steady window: every call up, none finished yet (a paying call lasts about 14 s).
  await sleep(rampMs + 1000);
  const cpuFrom = cpuSample(sys.pid);
  const capture = await startCapture({ filter: `udp and src host 127.0.0.1 and src portrange ${RTP_MIN}-${RTP_MAX}`, immediate: false });
  await sleep(3000);
  const datagrams = await capture.stop();
  const cpuTo = cpuSample(sys.pid);
  const sipp = await run;
  const listenersCompleted = listening ? sippCounts(await listening).succeeded : 0;
  const rssPeak = peak.stop();
  const approved = countApproved(sys.dataDir, started);
  const deviations = sendIntervalDeviations(datagrams, (d) => d.sourcePort >= RTP_MIN && d.sourcePort <= RTP_MAX);
  const cpuPct = cpuPercent(cpuFrom, cpuTo);
  const failed = payers - approved + (listeners - listenersCompleted);
  return {
    calls,
    payers,
    listeners,
    listenersCompleted,
    approved,
    failed,
    failureRate: failed / calls,
    cpuPct,
    cpuPerCallPct: cpuPct / calls,
    rssPeakMiB: rssPeak,
    rssPerCallMiB: Math.max(0, rssPeak - idleRss) / calls,
    rtpJitterP50Ms: quantile(deviations, 0.5),
    rtpJitterP99Ms: quantile(deviations, 0.99),
    rtpPacketsSampled: deviations.length,
    durationS: sipp.durationMs / 1000,
  };
}

async function baselineStep(ports: SippPortSequence, calls: number): Promise<BaselineStep> {
  const uasPort = await ports.next();
  const uas = startSipp(['-sn', 'uas', '-rtp_echo', '-i', '127.0.0.1', '-p', String(uasPort), '-mp', String(uasPort + 2)]);
  try {
    const port = await ports.next();
    const run = await runSipp({
      args: [
        `127.0.0.1:${uasPort}`,
        '-sf', join(projectRoot(), 'bench/baseline-uac.xml'),
        '-s', 'echo', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2),
        '-m', String(calls), '-l', String(calls), '-r', String(RAMP_RATE), '-d', '6000',
      ],
      timeoutMs: (calls / RAMP_RATE) * 1000 + 120_000,
    });
    const { succeeded, failed } = sippCounts(run);
    return { calls, succeeded, failed: calls - succeeded, failureRate: (calls - succeeded) / calls || (failed > 0 ? failed / calls : 0) };
  } finally {
    uas.child.kill('SIGKILL');
  }
}

/** The step the headline latency comes from: 100 calls if run, else the largest. */
function keyStep(agent: readonly AgentStep[]): AgentStep | undefined {
  return agent.find((a) => a.calls === 100) ?? agent.at(-1);
}

async function agentAssistedStep(sys: RunningSystem, ports: SippPortSequence, calls: number): Promise<AgentStep> {
  const dir = mkdtempSync(join(work, 'agent-'));
  const agentPort = await ports.next();
  const voice = join(dir, 'agent.ulaw');
  writeDtmfUlaw(voice, [{ waitMs: 1000 }]);
  const phone = startSipp(['-sf', join(projectRoot(), 'tests/sipp/agent-phone.xml'), '-i', '127.0.0.1', '-p', String(agentPort), '-mp', String(agentPort + 2), '-m', String(calls), '-key', 'voice', `${voice},-1,0`]);
  const codes = new Map<string, string>();
  for (let i = 0; i < calls; i++) {
    const session = await api<{ id: string; code: string }>(sys, 'POST', '/api/v1/sessions', { amount: 4250, currency: 'EUR', reference: `BENCH-${calls}-${i}`, agentUri: `sip:agent@127.0.0.1:${agentPort}` });
    codes.set(`pay-${session.code}`, session.id);
  }
  const frames = new Map<string, number[]>();
  const socket = new WebSocket(`${sys.httpUrl.replace(/^http/, 'ws')}/api/v1/stream`, { headers: { authorization: `Bearer ${sys.adminKey}` } });
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { sessionId?: string; event?: { type: string } };
    if (frame.event?.type !== 'digit-entered' || !frame.sessionId) return;
    const list = frames.get(frame.sessionId) ?? [];
    list.push(Date.now());
    frames.set(frame.sessionId, list);
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  log(`agent-assisted ${calls}: ${codes.size} sessions, stream open`);
  const toIvr = await startCapture({ filter: `udp and dst host 127.0.0.1 and dst portrange ${RTP_MIN}-${RTP_MAX}` });
  const toAgent = await startCapture({ filter: `udp and src portrange ${RTP_MIN}-${RTP_MAX} and dst portrange ${agentPort + 2}-${agentPort + 2 + 4 * calls + 8}` });
  const csv = join(dir, 'callers.csv');
  writeFileSync(csv, `SEQUENTIAL\n${[...codes.keys()].map((code) => `${code};${VISA};1230;123;`).join('\n')}\n`);
  const logFile = join(dir, 'callers.log');
  const port = await ports.next();
  await runSipp({
    args: [
      `127.0.0.1:${sys.sipPort}`, '-sf', join(projectRoot(), 'bench/agent-caller.xml'), '-inf', csv,
      '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2),
      '-m', String(calls), '-l', String(calls), '-r', String(RAMP_RATE), '-d', '4000', '-trace_logs', '-log_file', logFile,
    ],
    timeoutMs: (calls / RAMP_RATE) * 1000 + 120_000,
  });
  log(`agent-assisted ${calls}: callers done`);
  // The agent phones' calls end with the callers' (the IVR hangs them up).
  await Promise.race([phone.done, sleep(10_000).then(() => phone.child.kill('SIGKILL'))]);
  const intoIvr = await toIvr.stop();
  const intoAgent = await toAgent.stop();
  socket.close();

  // Which IVR RTP port each session's caller sent to (logged by the caller scenario).
  const portOf = new Map<string, number>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const match = /(pay-\d+) (\d+)/.exec(line);
    const sessionId = match && codes.get(match[1] as string);
    if (sessionId) portOf.set(sessionId, Number(match[2]));
  }
  const latencies: number[] = [];
  const fromStart: number[] = [];
  for (const [sessionId, ivrPort] of portOf) {
    const { starts, ends } = keyPacketTimes(intoIvr.filter((d) => d.destinationPort === ivrPort));
    const seen = frames.get(sessionId) ?? [];
    for (let i = 0; i < Math.min(ends.length, seen.length); i++) latencies.push((seen[i] as number) - (ends[i] as number));
    for (let i = 0; i < Math.min(starts.length, seen.length); i++) fromStart.push((seen[i] as number) - (starts[i] as number));
  }
  latencies.sort((a, b) => a - b);
  fromStart.sort((a, b) => a - b);
  const approved = countApprovedAmong(sys.dataDir, [...codes.values()]);
  const heard = pcmuAudio(rtpTo(intoAgent));
  return {
    calls,
    approved,
    failureRate: (calls - approved) / calls,
    keyToAgentP50Ms: latencies.length ? round(quantile(latencies, 0.5)) : null,
    keyToAgentP99Ms: latencies.length ? round(quantile(latencies, 0.99)) : null,
    keyToAgentMaxMs: latencies.length ? round(latencies.at(-1) as number) : null,
    keysMatched: latencies.length,
    keyStartToAgentP50Ms: fromStart.length ? round(quantile(fromStart, 0.5)) : null,
    keyStartToAgentP99Ms: fromStart.length ? round(quantile(fromStart, 0.99)) : null,
    eventPacketsToAgent: rtpTo(intoAgent).filter((p) => p.payloadType !== 0 && p.payloadType !== 8).length,
    toneLeakMs: toneMs(heard),
  };
}

/**
 * Per RFC 4733 event (one key press: its SSRC and RTP timestamp), in order:
 * the capture time of its first packet and of its first end packet (E bit).
 */
function keyPacketTimes(datagrams: readonly UdpDatagram[]): { starts: number[]; ends: number[] } {
  const events = new Map<string, { start: number; end?: number }>();
  for (const d of datagrams) {
    const p = d.payload;
    if (p.length < 16 || p[0]! >> 6 !== 2) continue;
    const payloadType = p[1]! & 0x7f;
    const headerLength = 12 + 4 * (p[0]! & 0x0f);
    if (payloadType === 0 || payloadType === 8 || p.length - headerLength !== 4) continue;
    const key = `${payloadType}:${p.readUInt32BE(8)}:${p.readUInt32BE(4)}`;
    const event = events.get(key) ?? { start: d.timeMs };
    if ((p[headerLength + 1]! & 0x80) !== 0) event.end ??= d.timeMs;
    events.set(key, event);
  }
  // Only what ended like a key press (SIPp's 4-byte filler of another payload type never does).
  const keys = [...events.values()].filter((e) => e.end !== undefined).sort((a, b) => a.start - b.start);
  return { starts: keys.map((e) => e.start), ends: keys.map((e) => e.end as number) };
}

/** Milliseconds of DTMF tone a Q.24 detector confirms in `pcm`. */
function toneMs(pcm: Int16Array): number {
  let samples = 0;
  const detector = new DtmfDetector({ onDigitEnd: (_key, start, end) => (samples += end - start) });
  detector.process(pcm);
  return samples / 8;
}

function countApprovedAmong(dataDir: string, ids: readonly string[]): number {
  const db = new Database(join(dataDir, 'payments.db'), { readonly: true, fileMustExist: true });
  try {
    const get = db.prepare("SELECT count(*) AS n FROM payment_sessions WHERE id = ? AND status = 'approved'");
    return ids.reduce((n, id) => n + (get.get(id) as { n: number }).n, 0);
  } finally {
    db.close();
  }
}

async function api<T>(sys: RunningSystem, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sys.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${sys.adminKey}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function agentTable(agent: readonly AgentStep[]): string {
  const header = ['agent calls', 'approved', 'keys', 'key end→agent p50', 'p99', 'max', 'key start→agent p50', 'p99', 'events to agent', 'tone leaked'];
  const rows = agent.map((a) => [
    String(a.calls), String(a.approved), String(a.keysMatched), `${a.keyToAgentP50Ms ?? '-'} ms`, `${a.keyToAgentP99Ms ?? '-'} ms`,
    `${a.keyToAgentMaxMs ?? '-'} ms`, `${a.keyStartToAgentP50Ms ?? '-'} ms`, `${a.keyStartToAgentP99Ms ?? '-'} ms`,
    String(a.eventPacketsToAgent), `${a.toneLeakMs} ms`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** SIPp's final screen: cumulative successful and failed calls. */
function sippCounts(run: SippRun): { succeeded: number; failed: number } {
  const cumulative = (label: string): number => {
    const rows = [...run.stdout.matchAll(new RegExp(`${label}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`, 'g'))];
    return Number(rows.at(-1)?.[1] ?? 0);
  };
  return { succeeded: cumulative('Successful call'), failed: cumulative('Failed call') };
}

function countApproved(dataDir: string, since: Date): number {
  const db = new Database(join(dataDir, 'payments.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT count(*) AS n FROM payment_sessions WHERE status = 'approved' AND created_at >= ?").get(since.toISOString()) as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

function table(direct: readonly StepResult[], baseline: readonly BaselineStep[]): string {
  const header = ['calls', 'approved', 'failed', 'CPU %', 'CPU %/call', 'RSS MiB', 'MiB/call', 'jitter p50', 'jitter p99', 'baseline ok'];
  const rows = direct.map((s) => {
    const b = baseline.find((x) => x.calls === s.calls);
    return [
      String(s.calls), String(s.approved), String(s.failed), s.cpuPct.toFixed(0), s.cpuPerCallPct.toFixed(2), s.rssPeakMiB.toFixed(0),
      s.rssPerCallMiB.toFixed(2), `${s.rtpJitterP50Ms.toFixed(2)} ms`, `${s.rtpJitterP99Ms.toFixed(2)} ms`, b ? `${b.succeeded}/${b.calls}` : '-',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function readSysctl(name: string): string | undefined {
  try {
    return execFileSync('sysctl', ['-n', name], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function setSysctl(name: string, value: string): void {
  try {
    execFileSync('sysctl', ['-w', `${name}=${value}`], { stdio: 'ignore' });
  } catch {
    log(`could not set ${name} (not root?): SIPp may drop RTP at high steps`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}
