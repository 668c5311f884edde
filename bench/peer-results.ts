/**
 * The benchmark's peers (other DTMF-masking media servers measured in the
 * same run under the same SIPp load) and how they sit beside our figures.
 * `results.peers` is keyed by peer name; each peer has the same shape, so a
 * new one adds an entry and nothing else. Our own app on FreeSWITCH is not a
 * peer: it runs our direct-pay and agent-assisted steps (`results.freeswitch`,
 * bench/system-under-test.ts).
 */
import type { AgentStep } from './agent-step.js';

/** One step of a peer: the same calls as our agent-assisted step of that size. */
export interface PeerStep {
  readonly calls: number;
  /** Calls that ran their course with masking on. */
  readonly completed: number;
  readonly failed: number;
  readonly failureRate: number;
  /** CPU of the peer's process(es) while the calls ran; per call in percent of one core. */
  readonly cpuPct: number;
  readonly cpuPerCallPct: number;
  readonly eventPacketsToAgent: number;
  readonly toneLeakMs: number;
  readonly rtpJitterP99Ms: number;
}

/** Ours divided by the peer's; null where the peer's figure is 0 or either is missing. */
export interface PeerRatios {
  readonly cpuPerCall: number | null;
  readonly capacityAtZeroFailures: number | null;
  readonly jitterP99: number | null;
  readonly toneLeak: number | null;
}

export interface PeerResults {
  /** What the peer's figures cover (and what they leave out), printed with its table. */
  readonly what: string;
  /** How the peer was set up (its version, mode, flags). */
  readonly setup: Readonly<Record<string, string | number>>;
  readonly steps: readonly PeerStep[];
  /** The largest step with no failure. */
  readonly maxCallsNoFailure: number;
  /** At the step the ratios compare (the largest both ran with no failure, else the largest both ran). */
  readonly comparedAtCalls: number | null;
  readonly ratios: PeerRatios;
}

/** A benchmark step, by its number of calls. */
interface SizedStep {
  readonly calls: number;
}

/** The largest step (steps are in growing size) with every call through; 0 for none. */
function largestClean<T extends SizedStep>(steps: readonly T[], clean: (step: T) => boolean): number {
  return [...steps].reverse().find(clean)?.calls ?? 0;
}

/**
 * The pair of same-size steps two systems are compared at: the largest both
 * ran with every call through, else the largest both ran; undefined if none.
 */
function comparedSteps<T extends SizedStep, U extends SizedStep>(
  theirs: readonly T[],
  ours: readonly U[],
  theirsClean: (step: T) => boolean,
  oursClean: (step: U) => boolean,
): { theirs: T; ours: U } | undefined {
  const pairs = theirs.flatMap((t) => {
    const o = ours.find((step) => step.calls === t.calls);
    return o ? [{ theirs: t, ours: o }] : [];
  });
  return pairs.filter((p) => theirsClean(p.theirs) && oursClean(p.ours)).at(-1) ?? pairs.at(-1);
}

const noFailure = (step: { readonly failed: number }): boolean => step.failed === 0;
const allApproved = (step: AgentStep): boolean => step.approved === step.calls;

export function peerResults(what: string, setup: PeerResults['setup'], steps: readonly PeerStep[], ours: readonly AgentStep[]): PeerResults {
  const maxCallsNoFailure = largestClean(steps, noFailure);
  const compared = comparedSteps(steps, ours, noFailure, allApproved);
  const peer = compared?.theirs;
  const mine = compared?.ours;
  const totalLeak = (xs: readonly { toneLeakMs: number }[]): number => xs.reduce((n, x) => n + x.toneLeakMs, 0);
  return {
    what,
    setup,
    steps,
    maxCallsNoFailure,
    comparedAtCalls: peer?.calls ?? null,
    ratios: {
      cpuPerCall: mine && peer ? ratio(mine.cpuPerCallPct, peer.cpuPerCallPct) : null,
      capacityAtZeroFailures: ratio(largestClean(ours, allApproved), maxCallsNoFailure),
      jitterP99: mine && peer ? ratio(mine.rtpJitterP99Ms, peer.rtpJitterP99Ms) : null,
      toneLeak: ratio(totalLeak(ours), totalLeak(steps)),
    },
  };
}

function ratio(ours: number, peer: number): number | null {
  return peer > 0 ? Math.round((ours / peer) * 100) / 100 : null;
}

/** Our agent-assisted rows and each peer's, one table, then the ratios. */
export function comparisonTable(ours: readonly AgentStep[], peers: Readonly<Record<string, PeerResults>>): string {
  const header = ['who', 'calls', 'ok', 'CPU %', 'CPU %/call', 'jitter p99', 'events to agent', 'tone leaked'];
  const rows = [
    ...ours.map((a) => ['ours (whole IVR)', String(a.calls), String(a.approved), a.cpuPct.toFixed(0), a.cpuPerCallPct.toFixed(2), `${a.rtpJitterP99Ms} ms`, String(a.eventPacketsToAgent), `${a.toneLeakMs} ms`]),
    ...Object.entries(peers).flatMap(([name, p]) =>
      p.steps.map((s) => [name, String(s.calls), String(s.completed), s.cpuPct.toFixed(0), s.cpuPerCallPct.toFixed(2), `${s.rtpJitterP99Ms} ms`, String(s.eventPacketsToAgent), `${s.toneLeakMs} ms`]),
    ),
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  const show = (r: number | null): string => (r === null ? '-' : `${r}×`);
  const notes = Object.entries(peers).map(
    ([name, p]) =>
      `ours / ${name} (at ${p.comparedAtCalls ?? '-'} calls): CPU per call ${show(p.ratios.cpuPerCall)}, capacity at 0 failures ${show(p.ratios.capacityAtZeroFailures)}, ` +
      `jitter p99 ${show(p.ratios.jitterP99)}, tone leak ${show(p.ratios.toneLeak)}\n  ${name}: ${p.what}`,
  );
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ...notes].join('\n');
}

/** The figures `mediaServerRatios` compares: a direct-pay step's. */
interface DirectStepFigures extends SizedStep {
  readonly failed: number;
  readonly cpuPerCallPct: number;
  readonly rtpJitterP99Ms: number;
}

/** The embedded server divided by FreeSWITCH (our app on each), where both ran the step. */
export interface MediaServerRatios {
  /** The direct-pay step compared: the largest both ran with no failure, else the largest both ran. */
  readonly comparedAtCalls: number | null;
  readonly cpuPerCall: number | null;
  readonly capacityAtZeroFailures: number | null;
  readonly jitterP99: number | null;
  /** Agent-assisted: key to agent p99 at the largest agent step both ran (whatever their failures: FreeSWITCH's collapse is part of the figure). */
  readonly keyToAgentP99: number | null;
}

export function mediaServerRatios(
  embedded: readonly DirectStepFigures[],
  freeswitch: readonly DirectStepFigures[],
  embeddedAgent: readonly AgentStep[],
  freeswitchAgent: readonly AgentStep[],
): MediaServerRatios {
  const direct = comparedSteps(freeswitch, embedded, noFailure, noFailure);
  const agent = comparedSteps(freeswitchAgent, embeddedAgent, () => false, () => false);
  const keyToAgent = (step: AgentStep | undefined): number => step?.keyToAgentP99Ms ?? 0;
  return {
    comparedAtCalls: direct?.theirs.calls ?? null,
    cpuPerCall: direct ? ratio(direct.ours.cpuPerCallPct, direct.theirs.cpuPerCallPct) : null,
    capacityAtZeroFailures: ratio(largestClean(embedded, noFailure), largestClean(freeswitch, noFailure)),
    jitterP99: direct ? ratio(direct.ours.rtpJitterP99Ms, direct.theirs.rtpJitterP99Ms) : null,
    keyToAgentP99: keyToAgent(agent?.ours) > 0 ? ratio(keyToAgent(agent?.ours), keyToAgent(agent?.theirs)) : null,
  };
}

export function mediaServerRatiosLine(r: MediaServerRatios): string {
  const show = (x: number | null): string => (x === null ? '-' : `${x}×`);
  return (
    `embedded / FreeSWITCH (our app on each; direct pay at ${r.comparedAtCalls ?? '-'} calls): CPU per call ${show(r.cpuPerCall)}, ` +
    `capacity at 0 failures ${show(r.capacityAtZeroFailures)}, jitter p99 ${show(r.jitterP99)}; agent-assisted key to agent p99 ${show(r.keyToAgentP99)}`
  );
}
