import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import type { Logger } from 'pino';

/** What asking for a real-time priority for this thread came to. */
export type RealtimePriorityResult =
  | { readonly ok: true; readonly threadId: number; readonly priority: number }
  | { readonly ok: false; readonly reason: string };

/**
 * Puts the calling thread under SCHED_FIFO at `priority` (1–99), as
 * FreeSWITCH's `-rp` and rtpengine's real-time scheduling do for their media
 * threads: a media clock that wakes every 5 ms then runs as soon as its
 * timer fires instead of waiting for a time slice behind SIP, the store or
 * another process on the same core (what the RTP send jitter measures).
 *
 * Node has no call for a thread's scheduling policy, so this asks util-linux's
 * `chrt` to set it on this thread's own id (Linux: /proc/thread-self). Needs
 * CAP_SYS_NICE (root, or a container given it); without it the thread keeps
 * its normal policy and the reason is returned. The kernel's real-time
 * throttling (sched_rt_runtime_us, 95 % by default) keeps a runaway thread
 * from taking a whole core.
 */
export function raiseThisThreadToRealtime(priority: number): RealtimePriorityResult {
  if (!Number.isInteger(priority) || priority < 1 || priority > 99) return { ok: false, reason: `priority must be 1–99, got ${priority}` };
  let threadId: number;
  try {
    // "<pid>/task/<tid>"
    threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return { ok: false, reason: 'no /proc/thread-self (not Linux)' };
  }
  if (!Number.isInteger(threadId) || threadId <= 0) return { ok: false, reason: 'no thread id in /proc/thread-self' };
  const chrt = spawnSync('chrt', ['--fifo', '--pid', String(priority), String(threadId)], { encoding: 'utf8', timeout: 5_000 });
  if (chrt.error) return { ok: false, reason: `chrt: ${chrt.error.message}` };
  if (chrt.status !== 0) return { ok: false, reason: `chrt: ${(chrt.stderr || chrt.stdout).trim() || `exit ${chrt.status}`}` };
  return { ok: true, threadId, priority };
}

/**
 * MEDIA_REALTIME_PRIORITY for the thread that runs a media clock (`thread`
 * names it in the log): raised and logged, or left on the normal policy with
 * a warning saying why. Nothing is done for a priority of 0.
 */
export function raiseMediaClockThread(priority: number, thread: string, logger: Logger): void {
  if (priority <= 0) return;
  const raised = raiseThisThreadToRealtime(priority);
  if (raised.ok) logger.info({ threadId: raised.threadId, priority: raised.priority }, `${thread} runs SCHED_FIFO`);
  else logger.warn({ reason: raised.reason }, `${thread} keeps the normal scheduling policy (MEDIA_REALTIME_PRIORITY needs CAP_SYS_NICE)`);
}
