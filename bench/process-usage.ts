import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat (sysconf(_SC_CLK_TCK) is 100 on Linux). */
const CLK_TCK = 100;

export interface CpuSample {
  readonly atMs: number;
  /** utime + stime of the process, in seconds. */
  readonly cpuSeconds: number;
}

/** The process's CPU time so far (Linux /proc). */
export function cpuSample(pid: number): CpuSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { atMs: performance.now(), cpuSeconds: (utime + stime) / CLK_TCK };
}

/** CPU used between two samples, in percent of one core. */
export function cpuPercent(from: CpuSample, to: CpuSample): number {
  const wall = (to.atMs - from.atMs) / 1000;
  return wall > 0 ? ((to.cpuSeconds - from.cpuSeconds) / wall) * 100 : 0;
}

/** Resident memory in MiB (VmRSS). */
export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** Samples RSS every `everyMs` until stopped; returns the peak. */
export function watchPeakRss(pid: number, everyMs = 200): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
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
