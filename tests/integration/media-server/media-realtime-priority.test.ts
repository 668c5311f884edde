import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { testDataDir } from '../../support/test-data-dir.js';

/** Each thread of `pid` with its scheduling policy and priority, as chrt reports them. */
function threadPolicies(pid: number): { tid: number; policy: string; priority: number }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const out = spawnSync('chrt', ['--pid', tid], { encoding: 'utf8' }).stdout;
    return { tid: Number(tid), policy: /policy: (\S+)/.exec(out)?.[1] ?? 'unknown', priority: Number(/priority: (\d+)/.exec(out)?.[1] ?? -1) };
  });
}

// SCHED_FIFO needs CAP_SYS_NICE: root here and in CI.
const canRaise = process.getuid?.() === 0;
let system: RunningSystem | undefined;

afterEach(async () => {
  await system?.stop();
  system = undefined;
});

async function start(name: string, env: Record<string, string>): Promise<RunningSystem> {
  const rtpBase = 46000 + (Number(process.env.VITEST_POOL_ID ?? '1') % 20) * 100;
  return startSystem({
    DATA_DIR: testDataDir(name),
    HTTP_PORT: String(await freePort(32000)),
    SIP_PORT: String(await freePort(36000)),
    RTP_PORT_MIN: String(rtpBase),
    RTP_PORT_MAX: String(rtpBase + 98),
    RECORDING: 'off',
    ...env,
  });
}

describe.skipIf(!canRaise)('MEDIA_REALTIME_PRIORITY (the media clock under SCHED_FIFO)', () => {
  it('with MEDIA_WORKERS=1: the media worker thread, and no other thread of the process, runs SCHED_FIFO at that priority', async () => {
    system = await start('realtime-priority-worker', { MEDIA_WORKERS: '1', MEDIA_REALTIME_PRIORITY: '10' });
    const fifo = threadPolicies(system.pid).filter((t) => t.policy === 'SCHED_FIFO');
    expect(fifo).toHaveLength(1);
    expect(fifo[0]).toMatchObject({ priority: 10 });
    expect(fifo[0]?.tid).not.toBe(system.pid);
    expect(system.output.some((line) => line.includes('media worker runs SCHED_FIFO'))).toBe(true);
  });

  it('with the RTP on the main thread (MEDIA_WORKERS=0): the main thread runs SCHED_FIFO, the others keep the normal policy', async () => {
    system = await start('realtime-priority-main', { MEDIA_WORKERS: '0', MEDIA_REALTIME_PRIORITY: '10' });
    const threads = threadPolicies(system.pid);
    expect(threads.filter((t) => t.policy === 'SCHED_FIFO')).toEqual([{ tid: system.pid, policy: 'SCHED_FIFO', priority: 10 }]);
    expect(threads.length).toBeGreaterThan(1);
  });

  it('unset: every thread keeps the normal policy', async () => {
    system = await start('realtime-priority-off', { MEDIA_WORKERS: '1' });
    expect(threadPolicies(system.pid).every((t) => t.policy === 'SCHED_OTHER')).toBe(true);
  });
});
