/**
 * `npm run bench [-- --steps 10,50,100,200,400] [--mixed 1000] [--agent-steps 10,100] [--inline-steps 100] [--smoke]
 *   [--media-servers embedded,freeswitch] [--peers rtpengine|none] [--rtpengine-dtmf-security silence]
 *   [--soak MINUTES [--soak-calls 200]]
 *   [--media-workers N] [--media-realtime-priority N] [--recording on|off] [--keying rfc4733|inband] [--node-args "..."] [--profile DIR] [--sut-log FILE] [--keep-data] [--out FILE]`
 *
 * Builds the system (`npm run build`) and starts what `npm start` runs, the
 * compiled `dist/app/main.js`, on its embedded defaults (a fresh data
 * folder); drives it with SIPp on loopback at rising numbers of concurrent
 * direct-pay calls (each the full DTMF flow to `approved`), a mixed step
 * where a tenth of the callers pay and the rest listen without keying,
 * agent-assisted steps (a SIPp agent phone per call, masking on), and the
 * in-line steps (calls relayed to a SIPp PBX that echoes the RTP, a tenth
 * paying on the live call: bench/inline-step.ts; embedded only), and the
 * same steps of SIPp calling a SIPp UAS with -rtp_echo as the baseline. Per
 * step: calls approved, CPU and RSS of the system process, RTP send-interval
 * jitter of what it sent (a tcpdump sample of the steady window), RTP loss it
 * counted. Then, where ../shared/vendor/install.sh installed them, the same
 * direct-pay and agent-assisted steps with the same SIPp load on
 * MEDIA_SERVER=freeswitch against drachtio-server + FreeSWITCH on loopback
 * (bench/system-under-test.ts; CPU and RSS of the three processes together).
 * Peers (bench/peer-results.ts) run the agent-assisted steps under
 * the same SIPp load: rtpengine relaying and masking between the caller and
 * the agent phone. `--soak` holds direct-pay calls for MINUTES and reports
 * RSS over time and GC pauses (embedded). Prints the tables and writes JSON (default
 * bench/results.json). Run as root: SIPp's play_dtmf uses raw sockets,
 * tcpdump needs them too, and net.core.rmem_default is raised for the run
 * (SIPp ignores -rtp_buffsize) and restored after.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../app/project-root.js';
import type { DtmfSecurity } from '../tools/rtpengine/ng-client.js';
import { startRtpengine } from '../tools/rtpengine/rtpengine-process.js';
import { freePort, killAllSipp, SippPortSequence, startSipp } from '../tools/sipp/sipp-process.js';
import { buildSystem } from '../tools/system-process.js';
import { telephonyStackMissing } from '../tools/telephony-stack.js';
import { agentAssistedStep, type AgentStep } from './agent-step.js';
import { baselineStep, type BaselineStep } from './baseline-step.js';
import { log, readSysctl, RTP_MAX, RTP_MIN, setSysctl } from './bench-support.js';
import { directPayStep, type Keying, type StepResult } from './direct-pay-step.js';
import { headlineFigures } from './headline-figures.js';
import { comparisonTable, mediaServerRatios, mediaServerRatiosLine, peerResults, type PeerResults, type PeerStep } from './peer-results.js';
import { rssMiB } from './process-usage.js';
import { RTPENGINE_RTP_MAX, RTPENGINE_RTP_MIN, rtpengineStep } from './rtpengine-step.js';
import { soak, soakCurveTable, type SoakResult } from './soak.js';
import { measureSrtpCost, srtpTable } from './srtp-cost.js';
import { SRTP_CRYPTO_SUITES } from '../media-server/embedded/rtp/srtp-context.js';
import { parseMediaServers, startSystemUnderTest, type MediaServerKind, type SystemUnderTest } from './system-under-test.js';
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
    /** Media servers the direct-pay and agent-assisted steps run on. Default both, FreeSWITCH where installed; the mixed step and the soak run on embedded. */
    'media-servers': { type: 'string' },
    /** Peers run beside ours, comma-separated: rtpengine (the default), or none. */
    peers: { type: 'string', default: 'rtpengine' },
    /** How rtpengine replaces the caller's blocked keys (ng block DTMF, DTMF-security). */
    'rtpengine-dtmf-security': { type: 'string', default: 'silence' },
    /** Minutes of direct-pay calls held at --soak-calls (default 200): RSS over time and GC pauses. */
    soak: { type: 'string' },
    'soak-calls': { type: 'string', default: '200' },
    /** MEDIA_WORKERS of the embedded system under test: its RTP on that many worker threads. Default: the app's default. */
    'media-workers': { type: 'string' },
    /** MEDIA_REALTIME_PRIORITY of the embedded system under test (its media workers under SCHED_FIFO). */
    'media-realtime-priority': { type: 'string' },
    /** RECORDING of the embedded system under test: off leaves out the recording of every call (the WAV writes), to tell its cost from the rest. Default: the app's (on). */
    recording: { type: 'string' },
    /** How the embedded server's paying callers key in the direct-pay and mixed steps: rfc4733 (SIPp play_dtmf) or inband (tones in their audio; no SIPp raw sockets). */
    keying: { type: 'string', default: 'rfc4733' },
    /** Writes a V8 CPU profile of the system under test into this folder (node --cpu-prof). */
    profile: { type: 'string' },
    /** Extra node/V8 options for the system under test, space-separated (e.g. "--max-semi-space-size=32"): what an operator would add to NODE_OPTIONS. */
    'node-args': { type: 'string', default: '' },
    /** Keeps the run's folder (the system's DATA_DIR with its store, audit trail and recordings; SIPp's files) and prints where: to read why calls failed. */
    'keep-data': { type: 'boolean', default: false },
    /** Writes what the system under test logged (its pino lines, card data scrubbed as always) to FILE-<media server>.log. */
    'sut-log': { type: 'string' },
  },
});

/** ` (status:failed 3, card-number:invalid-card-number 3)`, or nothing when every payer was approved. */
const failuresText = (step: StepResult): string => {
  const entries = Object.entries(step.failures);
  if (step.keysDiscarded > 0) entries.push(['keys discarded as keyed before their prompt', step.keysDiscarded]);
  return entries.length === 0 ? '' : ` (${entries.map(([why, n]) => `${why} ${n}`).join(', ')})`;
};
const list = (text: string): number[] => text.split(',').map(Number).filter((n) => n > 0);
const soakMinutes = values.soak ? Number(values.soak) : 0;
// A soak alone runs no steps unless some are asked for.
const stepsDefault = (smoke: string, full: string): string => (values.smoke ? smoke : soakMinutes > 0 ? '' : full);
const steps = list(values.steps ?? stepsDefault('2', '10,50,100,200,400'));
const agentSteps = list(values['agent-steps'] ?? stepsDefault('2', '10,100'));
const mixedSteps = list(values.mixed ?? stepsDefault('10', '1000'));
const inlineSteps = list(values['inline-steps'] ?? stepsDefault('10', '100'));
const peers = values.peers.split(',').filter((p) => p && p !== 'none');
const dtmfSecurity = values['rtpengine-dtmf-security'] as DtmfSecurity;
const maxFailureRate = Number(values['max-failure-rate']);
if (values.keying !== 'rfc4733' && values.keying !== 'inband') throw new Error(`--keying is rfc4733 or inband, not ${values.keying}`);
const keying: Keying = values.keying;
const freeswitchMissing = telephonyStackMissing();
const mediaServers = parseMediaServers(values['media-servers'] ?? (freeswitchMissing ? 'embedded' : 'embedded,freeswitch'));
if (!values['media-servers'] && freeswitchMissing) log(`FreeSWITCH steps skipped: ${freeswitchMissing}`);
/** The share of the mixed step's callers who key a card payment. */
const KEYING_SHARE = 0.1;

const work = mkdtempSync(join(tmpdir(), 'bench-'));
const rmemBefore = readSysctl('net.core.rmem_default');
setSysctl('net.core.rmem_default', '4194304');
let sut: SystemUnderTest | undefined;
try {
  log('building dist/ (npm run build): the benchmark runs what npm start runs');
  buildSystem();
  const ports = new SippPortSequence(40000);
  // The agent phones apart from the callers, so what went to an agent is told by its port.
  const agentPorts = new SippPortSequence(48000);
  const runs = new Map<MediaServerKind, { direct: StepResult[]; mixed: StepResult[]; agent: AgentStep[] }>();
  let soaked: SoakResult | null = null;
  const inline: InlineStep[] = [];
  // In-line mode's PBX for the in-line steps: numbers other than the pay number are relayed to it.
  const pbxPort = await ports.next();
  for (const kind of mediaServers) {
    sut = await startSystemUnderTest(kind, {
      dataDir: join(work, `data-${kind}`),
      nodeArgs: [...values['node-args'].split(' ').filter(Boolean), ...(values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [])],
      ...(kind === 'embedded'
        ? {
            env: {
              INLINE_ROUTE: `sip:{user}@127.0.0.1:${pbxPort}`,
              ...(values['media-workers'] !== undefined ? { MEDIA_WORKERS: values['media-workers'] } : {}),
              ...(values['media-realtime-priority'] !== undefined ? { MEDIA_REALTIME_PRIORITY: values['media-realtime-priority'] } : {}),
              ...(values.recording !== undefined ? { RECORDING: values.recording } : {}),
            },
          }
        : {}),
    });
    const idleRss = rssMiB(sut.pids);
    const run = { direct: [] as StepResult[], mixed: [] as StepResult[], agent: [] as AgentStep[] };
    runs.set(kind, run);
    for (const calls of steps) {
      const step = await directPayStep(sut, ports, calls, idleRss, work, { keying });
      run.direct.push(step);
      log(`${kind}: direct pay ${calls}: ${step.approved} approved, ${step.failed} failed${failuresText(step)}, CPU ${step.cpuPct.toFixed(0)} %, jitter p99 ${step.rtpJitterP99Ms.toFixed(2)} ms, RTP lost ${step.rtpLost ?? '-'}, GC p99 ≤ ${step.gcPauseP99Ms ?? '-'} ms (media workers ≤ ${step.mediaWorkerGcPauseP99Ms ?? '-'} ms)`);
      if (step.failureRate > maxFailureRate) break;
    }
    // The mixed step and the soak measure the embedded server's listeners and Node's memory; FreeSWITCH runs the direct-pay and agent-assisted steps.
    for (const calls of kind === 'embedded' ? mixedSteps : []) {
      const step = await directPayStep(sut, ports, calls, idleRss, work, { keyingShare: KEYING_SHARE, keying });
      run.mixed.push(step);
      log(`mixed ${calls}: ${step.approved}/${step.payers} payers approved${failuresText(step)}, ${step.listenersCompleted}/${step.listeners} listeners completed, CPU ${step.cpuPct.toFixed(0)} %, jitter p99 ${step.rtpJitterP99Ms.toFixed(2)} ms`);
      if (step.failureRate > maxFailureRate) break;
    }
    for (const calls of agentSteps) {
      const step = await agentAssistedStep(sut, ports, agentPorts, calls, work);
      run.agent.push(step);
      log(`${kind}: agent-assisted ${calls}: ${step.approved} approved, key-to-agent p50 ${step.keyToAgentP50Ms} ms p99 ${step.keyToAgentP99Ms} ms over ${step.keysMatched} keys, tone leaked ${step.toneLeakMs} ms`);
      if (step.failureRate > maxFailureRate) break;
    }
    // In-line mode runs on the embedded media server only.
    if (kind === 'embedded' && inlineSteps.length > 0) {
      const pbx = startSipp(['-sn', 'uas', '-rtp_echo', '-i', '127.0.0.1', '-p', String(pbxPort), '-mp', String(pbxPort + 2)]);
      try {
        for (const calls of inlineSteps) {
          const step = await inlineStep(sut.system, ports, calls, rssMiB(sut.pids), work);
          inline.push(step);
          log(`in-line ${calls}: ${step.approved}/${step.payers} payers approved, ${step.relayedCompleted}/${step.calls - step.payers} relayed completed, CPU ${step.cpuPct.toFixed(0)} %, RSS/call ${step.rssPerCallMiB.toFixed(2)} MiB`);
          if (step.failureRate > maxFailureRate) break;
        }
      } finally {
        pbx.child.kill('SIGKILL');
      }
    }
    if (kind === 'embedded' && soakMinutes > 0) {
      soaked = await soak(sut.system, ports, soakMinutes, Number(values['soak-calls']));
      log(`soak ${soakMinutes} min at ${soaked.calls} calls: RSS ${soaked.rssStartMiB} → ${soaked.rssAfterWarmupMiB} (${soaked.warmupS} s) → ${soaked.rssEndMiB} MiB, GC pause p99 ≤ ${soaked.gcPauseP99Ms} ms`);
    }
    await sut.stop();
    if (values['sut-log']) writeFileSync(`${values['sut-log']}-${kind}.log`, `${sut.system.output.join('\n')}\n`);
    sut = undefined;
  }
  const { direct, mixed, agent } = runs.get('embedded') ?? { direct: [], mixed: [], agent: [] };
  const freeswitch = runs.get('freeswitch');

  const peerFigures: Record<string, PeerResults> = {};
  if (peers.includes('rtpengine') && agentSteps.length > 0) peerFigures.rtpengine = await rtpenginePeer(ports, agentPorts, agent);

  const baseline: BaselineStep[] = [];
  for (const calls of [...new Set([...steps, ...mixedSteps])].sort((a, b) => a - b)) {
    const step = await baselineStep(ports, calls);
    baseline.push(step);
    log(`baseline ${calls}: ${step.succeeded} succeeded, ${step.failed} failed`);
    if (step.failureRate > maxFailureRate) break;
  }

  // SRTP's cost, measured once the calls are over (nothing else of ours runs), beside the plain RTP calls above.
  const srtpCost = SRTP_CRYPTO_SUITES.map((suite) => measureSrtpCost(suite, values.smoke ? 2_000 : 200_000));

  const embedded = headlineFigures(direct, agent, maxFailureRate);
  const bestBaseline = [...baseline].reverse().find((b) => b.failed === 0 && steps.includes(b.calls));
  const largestMixed = mixed.at(-1);
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    systemUnderTest: 'node dist/app/main.js (npm run build first), as npm start runs it',
    mediaWorkers: values['media-workers'] === undefined ? 'app default' : Number(values['media-workers']),
    mediaRealtimePriority: values['media-realtime-priority'] === undefined ? 'app default' : Number(values['media-realtime-priority']),
    recording: values.recording ?? 'app default',
    keying,
    nodeArgs: values['node-args'],
    ...embedded,
    mixedMaxCalls: [...mixed].reverse().find((s) => s.failed === 0)?.calls ?? 0,
    mixedPayersApprovedPct: largestMixed ? Math.round((largestMixed.approved / largestMixed.payers) * 1000) / 10 : null,
    baselineMaxCalls: bestBaseline?.calls ?? 0,
    baselineRatio: bestBaseline && embedded.directPayMaxCalls ? embedded.directPayMaxCalls / bestBaseline.calls : null,
    mixedBaselineMaxCalls: [...baseline].reverse().find((b) => b.failed === 0 && mixedSteps.includes(b.calls))?.calls ?? 0,
    rtpLost: [...direct, ...mixed].reduce((n, s) => n + (s.rtpLost ?? 0), 0),
    soak: soaked,
    peers: peerFigures,
    /** Per packet and per call (50 packets a second each way); the plain RTP call's whole cost is cpuPerCallPct. */
    srtp: srtpCost,
    inlineMaxCalls: [...inline].reverse().find((s) => s.failed === 0)?.calls ?? 0,
    inlineCpuPerCallPct: [...inline].reverse().find((s) => s.failed === 0)?.cpuPerCallPct ?? null,
    inlineRssPerCallMiB: [...inline].reverse().find((s) => s.failed === 0)?.rssPerCallMiB ?? null,
    steps: { direct, mixed, agent, inline, baseline },
    // The app on drachtio-server + FreeSWITCH: the same figures from the same direct-pay and agent-assisted steps.
    ...(freeswitch
      ? {
          freeswitch: {
            ...headlineFigures(freeswitch.direct, freeswitch.agent, maxFailureRate),
            ratios: mediaServerRatios(direct, freeswitch.direct, agent, freeswitch.agent),
            steps: { direct: freeswitch.direct, agent: freeswitch.agent },
          },
        }
      : {}),
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(table([...direct, ...(freeswitch?.direct ?? [])], baseline));
  if (results.freeswitch) console.log(mediaServerRatiosLine(results.freeswitch.ratios));
  console.log('');
  if (mixed.length > 0) {
    console.log(`mixed: a tenth of the callers pay, the rest listen without keying`);
    console.log(table(mixed, baseline));
    console.log('');
  }
  console.log(agentTable([...agent, ...(freeswitch?.agent ?? [])]));
  if (Object.keys(peerFigures).length > 0) {
    console.log('\nagent-assisted, ours and the peers under the same SIPp load:');
    console.log(comparisonTable(agent, peerFigures));
  }
  if (soaked) {
    console.log(`\nsoak: ${soaked.minutes} min at ${soaked.calls} direct-pay calls, ${soaked.approved} approved; RSS idle ${soaked.rssIdleMiB}, start ${soaked.rssStartMiB}, after ${soaked.warmupS} s ${soaked.rssAfterWarmupMiB}, end ${soaked.rssEndMiB} MiB ` +
      `(${soaked.rssGrowthAfterWarmupPct} % after warm-up, ${soaked.rssPerCallMiB} MiB/call); heap live after the last full GC ${soaked.heapLiveAfterWarmupMiB} → ${soaked.heapLiveEndMiB} MiB ` +
      `(${soaked.heapLiveGrowthAfterWarmupPct} %); GC pause p99 ≤ ${soaked.gcPauseP99Ms} ms over ${soaked.gcPauses} pauses`);
    console.log(soakCurveTable(soaked));
  }
  for (const step of inline) {
    console.log(`in-line ${step.calls} relayed calls (${step.payers} paying): ${step.approved} approved, ${step.failed} failed, CPU ${step.cpuPerCallPct.toFixed(2)} %/call, RSS ${step.rssPerCallMiB.toFixed(2)} MiB/call`);
  }
  console.log('');
  console.log(srtpTable(srtpCost, results.cpuPerCallPct));
  console.log(`\nmachine: ${results.machine.cpus} cores (${results.machine.cpuModel}), ${results.machine.memoryGiB} GiB; ${results.date}; ${results.systemUnderTest}`);
  console.log(
    `direct pay: ${results.directPayMaxCalls} concurrent calls with no failure (${results.directPayMaxCallsWithinFailureBound} within ${maxFailureRate * 100} %); ` +
      `${results.freeswitch ? `on FreeSWITCH: ${results.freeswitch.directPayMaxCalls}; ` : ''}` +
      `baseline (SIPp to SIPp -rtp_echo): ${results.baselineMaxCalls}; mixed: ${results.mixedMaxCalls} with no failure; written to ${values.out}`,
  );
} finally {
  killAllSipp();
  await sut?.stop();
  if (rmemBefore) setSysctl('net.core.rmem_default', rmemBefore);
  if (values['keep-data']) log(`kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

/** rtpengine started for the peer's steps (the same sizes as our agent-assisted ones) and stopped after. */
async function rtpenginePeer(ports: SippPortSequence, agentPorts: SippPortSequence, ours: readonly AgentStep[]): Promise<PeerResults> {
  const rtpengine = await startRtpengine({ ngPort: await freePort(30000), portMin: RTPENGINE_RTP_MIN, portMax: RTPENGINE_RTP_MAX });
  try {
    const peerSteps: PeerStep[] = [];
    for (const { calls } of ours) {
      const step = await rtpengineStep(rtpengine, ports, agentPorts, calls, work, dtmfSecurity);
      peerSteps.push(step);
      log(`rtpengine ${calls}: ${step.completed} completed, CPU ${step.cpuPct.toFixed(0)} %, tone leaked ${step.toneLeakMs} ms, ${step.eventPacketsToAgent} events to agent`);
      if (step.failureRate > maxFailureRate) break;
    }
    return peerResults(
      'the relay cost alone: rtpengine forwards and masks the media of a caller and an agent SIPp; no IVR, store, PSP, prompts, recording or agent console as in ours',
      { binary: 'rtpengine (Debian rtpengine-daemon)', mode: 'userspace, --table=-1', dtmfSecurity, control: 'ng over UDP: offer, answer, block DTMF, delete' },
      peerSteps,
      ours,
    );
  } finally {
    await rtpengine.stop();
  }
}

function agentTable(agent: readonly AgentStep[]): string {
  const header = ['media server', 'agent calls', 'approved', 'keys', 'key start→agent p50', 'p99', 'max', 'CPU %/call', 'events to agent', 'tone leaked'];
  const rows = agent.map((a) => [
    a.mediaServer, String(a.calls), String(a.approved), String(a.keysMatched), `${a.keyToAgentP50Ms ?? '-'} ms`, `${a.keyToAgentP99Ms ?? '-'} ms`,
    `${a.keyToAgentMaxMs ?? '-'} ms`, a.cpuPerCallPct.toFixed(2), String(a.eventPacketsToAgent), `${a.toneLeakMs} ms`,
  ]);
  return formatTable(header, rows);
}

function table(direct: readonly StepResult[], baseline: readonly BaselineStep[]): string {
  const header = ['media server', 'calls', 'approved', 'failed', 'CPU %', 'CPU %/call', 'RSS MiB', 'MiB/call', 'jitter p50', 'jitter p99', 'RTP lost', 'baseline ok'];
  const rows = direct.map((s) => {
    const b = baseline.find((x) => x.calls === s.calls);
    return [
      s.mediaServer, String(s.calls), String(s.approved), String(s.failed), s.cpuPct.toFixed(0), s.cpuPerCallPct.toFixed(2), s.rssPeakMiB.toFixed(0),
      s.rssPerCallMiB.toFixed(2), `${s.rtpJitterP50Ms.toFixed(2)} ms`, `${s.rtpJitterP99Ms.toFixed(2)} ms`, String(s.rtpLost ?? '-'), b ? `${b.succeeded}/${b.calls}` : '-',
    ];
  });
  return formatTable(header, rows);
}

function formatTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
