import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';

const run = promisify(execFile);

/**
 * The benchmark's smoke variant (`npm run bench -- --smoke`: two paying
 * calls, ten mixed, two agent-assisted, ten relayed in-line with one
 * paying, and the baseline), so the script
 * cannot rot. Its figures are not
 * judged here: capacity and latency are the benchmark's business, never a
 * test's pass or fail.
 */
describe('npm run bench -- --smoke', () => {
  const work = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('runs a step of real calls and the SIPp baseline, prints the table and writes the results JSON', { timeout: 200_000 }, async () => {
    const out = join(work, 'results.json');
    const { stdout } = await run(join(projectRoot(), 'node_modules/.bin/tsx'), [join(projectRoot(), 'bench/run-bench.ts'), '--smoke', '--out', out], {
      cwd: projectRoot(),
      timeout: 190_000,
    });
    expect(stdout).toMatch(/calls\s+approved\s+failed/);
    const results = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown> & {
      steps: {
        direct: { calls: number; approved: number }[];
        mixed: { calls: number; payers: number; approved: number; listenersCompleted: number }[];
        agent: { calls: number; approved: number; keysMatched: number; eventPacketsToAgent: number }[];
        inline: { calls: number; payers: number; approved: number; relayedCompleted: number; failed: number }[];
      };
    };
    for (const key of ['directPayMaxCalls', 'agentAssistedMaxCalls', 'keyToAgentP50Ms', 'keyToAgentP99Ms', 'rtpJitterP99Ms', 'toneLeakMs', 'baselineMaxCalls', 'cpuPerCallPct', 'rssPerCallMiB', 'mixedMaxCalls', 'inlineMaxCalls', 'inlineCpuPerCallPct', 'inlineRssPerCallMiB', 'machine', 'date']) {
      expect(results).toHaveProperty(key);
    }
    expect(results.steps.direct).toEqual([expect.objectContaining({ calls: 2, approved: 2 })]);
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
  });
});
