import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat (sysconf(_SC_CLK_TCK) is 100 on Linux). */
const CLK_TCK = 100;

export interface CpuSample {
  readonly atMs: number;
  /** utime + stime of the processes, in seconds. */
  readonly cpuSeconds: number;
}

/** The CPU time so far of the processes together (Linux /proc). */
export function cpuSample(pids: readonly number[]): CpuSample {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return { atMs: performance.now(), cpuSeconds: ticks / CLK_TCK };
}

/** CPU used between two samples, in percent of one core. */
export function cpuPercent(from: CpuSample, to: CpuSample): number {
  const wall = (to.atMs - from.atMs) / 1000;
  return wall > 0 ? ((to.cpuSeconds - from.cpuSeconds) / wall) * 100 : 0;
}

/** Resident memory of the processes together, in MiB (VmRSS). */
export function rssMiB(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) kib += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kib / 1024;
}

/** Samples the processes' RSS together every `everyMs` until stopped; returns the peak. */
export function watchPeakRss(pids: readonly number[], everyMs = 200): { stop(): number } {
  let peak = rssMiB(pids);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pids));
    } catch {
      // The process ended.
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}
