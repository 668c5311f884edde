import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { raiseThisThreadToRealtime, type RealtimePriorityResult } from '../../../media-server/embedded/worker/realtime-priority.js';

/** The scheduling policy chrt reports for a thread id, e.g. SCHED_FIFO. */
function policyOf(threadId: number): string {
  return /policy: (\S+)/.exec(spawnSync('chrt', ['--pid', String(threadId)], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
}

const canRaise = process.getuid?.() === 0;
const moduleUrl = new URL('../../../media-server/embedded/worker/realtime-priority.ts', import.meta.url).href;

describe('raiseThisThreadToRealtime (MEDIA_REALTIME_PRIORITY)', () => {
  it('refuses a priority outside 1–99 without calling chrt', () => {
    expect(raiseThisThreadToRealtime(0)).toEqual({ ok: false, reason: 'priority must be 1–99, got 0' });
    expect(raiseThisThreadToRealtime(100).ok).toBe(false);
    expect(raiseThisThreadToRealtime(1.5).ok).toBe(false);
  });

  it.skipIf(!canRaise)('puts the calling worker thread, and only it, under SCHED_FIFO at that priority', async () => {
    const mainThread = Number(readlinkSync('/proc/thread-self').split('/').pop());
    const worker = new Worker(
      `import { parentPort } from 'node:worker_threads';
       import { register } from 'tsx/esm/api';
       register();
       const { raiseThisThreadToRealtime } = await import(${JSON.stringify(moduleUrl)});
       parentPort.postMessage(raiseThisThreadToRealtime(7));
       parentPort.once('message', () => process.exit(0));`,
      { eval: true },
    );
    try {
      const result = await new Promise<RealtimePriorityResult>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(result).toMatchObject({ ok: true, priority: 7 });
      if (!result.ok) return;
      expect(result.threadId).not.toBe(mainThread);
      expect(policyOf(result.threadId)).toBe('SCHED_FIFO');
      expect(spawnSync('chrt', ['--pid', String(result.threadId)], { encoding: 'utf8' }).stdout).toMatch(/priority: 7/);
      expect(policyOf(mainThread)).toBe('SCHED_OTHER');
    } finally {
      await worker.terminate();
    }
  });
});
