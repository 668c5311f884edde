/** The figures results.json leads with, worked out from one media server's direct-pay and agent-assisted steps. */
import type { AgentStep } from './agent-step.js';
import type { StepResult } from './direct-pay-step.js';

export interface HeadlineFigures {
  /** The highest direct-pay step with no failure (the steps go on while at most the failure bound fail). */
  readonly directPayMaxCalls: number;
  readonly directPayMaxCallsWithinFailureBound: number;
  readonly cpuPerCallPct: number | null;
  readonly rssPerCallMiB: number | null;
  /** At the highest step with no failure (the 200-call figure is rtpJitterP99MsAt200). */
  readonly rtpJitterP99Ms: number | null;
  readonly rtpJitterP99MsAt200: number | null;
  readonly agentAssistedMaxCalls: number;
  /** From each key's first RFC 4733 packet; the worst agent step's p99 (and that step's p50). */
  readonly keyToAgentP50Ms: number | null;
  readonly keyToAgentP99Ms: number | null;
  readonly keyToAgentP99AtCalls: number | null;
  readonly cpuPerMaskedCallPct: number | null;
  readonly toneLeakMs: number;
}

export function headlineFigures(direct: readonly StepResult[], agent: readonly AgentStep[], maxFailureRate: number): HeadlineFigures {
  const best = [...direct].reverse().find((s) => s.failed === 0);
  const worstKeyStep = agent.reduce<AgentStep | undefined>((worst, a) => (a.keyToAgentP99Ms !== null && (worst?.keyToAgentP99Ms ?? -Infinity) < a.keyToAgentP99Ms ? a : worst), undefined);
  return {
    directPayMaxCalls: best?.calls ?? 0,
    directPayMaxCallsWithinFailureBound: [...direct].reverse().find((s) => s.failureRate <= maxFailureRate)?.calls ?? 0,
    cpuPerCallPct: best?.cpuPerCallPct ?? null,
    rssPerCallMiB: best?.rssPerCallMiB ?? null,
    rtpJitterP99Ms: best?.rtpJitterP99Ms ?? null,
    rtpJitterP99MsAt200: direct.find((s) => s.calls === 200)?.rtpJitterP99Ms ?? null,
    agentAssistedMaxCalls: [...agent].reverse().find((a) => a.approved === a.calls)?.calls ?? 0,
    keyToAgentP50Ms: worstKeyStep?.keyToAgentP50Ms ?? null,
    keyToAgentP99Ms: worstKeyStep?.keyToAgentP99Ms ?? null,
    keyToAgentP99AtCalls: worstKeyStep?.calls ?? null,
    cpuPerMaskedCallPct: agent.at(-1)?.cpuPerCallPct ?? null,
    toneLeakMs: agent.reduce((max, a) => Math.max(max, a.toneLeakMs), 0),
  };
}
