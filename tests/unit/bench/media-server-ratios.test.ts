import { describe, expect, it } from 'vitest';
import type { AgentStep } from '../../../bench/agent-step.js';
import { mediaServerRatios, mediaServerRatiosLine, peerResults, type PeerStep } from '../../../bench/peer-results.js';

const direct = (calls: number, failed: number, cpuPerCallPct: number, rtpJitterP99Ms: number) => ({ calls, failed, cpuPerCallPct, rtpJitterP99Ms });
const agent = (mediaServer: AgentStep['mediaServer'], calls: number, keyToAgentP99Ms: number | null): AgentStep => ({
  mediaServer,
  calls,
  approved: calls,
  failureRate: 0,
  keyToAgentP50Ms: null,
  keyToAgentP99Ms,
  keyToAgentMaxMs: null,
  keysMatched: 0,
  cpuPct: 0,
  cpuPerCallPct: 0,
  eventPacketsToAgent: 0,
  toneLeakMs: 0,
  rtpJitterP99Ms: 0,
});

describe('the embedded server against FreeSWITCH in the benchmark', () => {
  it('compares at the largest direct-pay step both ran cleanly, capacity at each one\'s own largest clean step', () => {
    const r = mediaServerRatios(
      [direct(10, 0, 1.3, 2.4), direct(100, 0, 0.4, 15.3), direct(200, 0, 0.32, 12.3), direct(400, 42, 0.21, 664)],
      [direct(10, 0, 1.8, 2.1), direct(100, 0, 1.6, 2.8), direct(200, 185, 0.9, 5.1)],
      [agent('embedded', 10, 5.6), agent('embedded', 100, 74.2)],
      [agent('freeswitch', 10, 141.6), agent('freeswitch', 100, 6357.3)],
    );
    expect(r).toEqual({ comparedAtCalls: 100, cpuPerCall: 0.25, capacityAtZeroFailures: 2, jitterP99: 5.46, keyToAgentP99: 0.01 });
    expect(mediaServerRatiosLine(r)).toContain('direct pay at 100 calls): CPU per call 0.25×, capacity at 0 failures 2×');
  });

  it('says nothing where there is nothing to compare', () => {
    const r = mediaServerRatios([direct(10, 1, 1, 1)], [], [], []);
    expect(r).toEqual({ comparedAtCalls: null, cpuPerCall: null, capacityAtZeroFailures: null, jitterP99: null, keyToAgentP99: null });
    expect(mediaServerRatiosLine(r)).toContain('CPU per call -');
  });
});

describe('a peer beside our agent-assisted steps', () => {
  const peer = (calls: number, failed: number, cpuPerCallPct: number, rtpJitterP99Ms: number): PeerStep => ({
    calls, completed: calls - failed, failed, failureRate: failed / calls, cpuPct: cpuPerCallPct * calls, cpuPerCallPct, eventPacketsToAgent: 0, toneLeakMs: 0, rtpJitterP99Ms,
  });

  it('compares at the largest step both ran with every call through, capacity at each one\'s largest clean step', () => {
    const ours = [{ ...agent('embedded', 10, 5), cpuPerCallPct: 1.5, rtpJitterP99Ms: 3 }, { ...agent('embedded', 100, 70), cpuPerCallPct: 0.7, rtpJitterP99Ms: 25 }];
    const r = peerResults('relay', {}, [peer(10, 0, 0.3, 20), peer(100, 0, 0.2, 50), peer(200, 3, 0.2, 80)], ours);
    expect(r.maxCallsNoFailure).toBe(100);
    expect(r.comparedAtCalls).toBe(100);
    expect(r.ratios).toEqual({ cpuPerCall: 3.5, capacityAtZeroFailures: 1, jitterP99: 0.5, toneLeak: null });
  });
});
