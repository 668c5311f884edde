import { join } from 'node:path';
import { projectRoot } from '../app/project-root.js';
import { runSipp, startSipp, type SippPortSequence } from '../tools/sipp/sipp-process.js';
import { RAMP_RATE, sippCounts } from './bench-support.js';

export interface BaselineStep {
  readonly calls: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly failureRate: number;
}

/** The same number of calls from SIPp to a SIPp UAS with -rtp_echo: what the machine and SIPp manage without us. */
export async function baselineStep(ports: SippPortSequence, calls: number): Promise<BaselineStep> {
  const uasPort = await ports.next();
  const uas = startSipp(['-sn', 'uas', '-rtp_echo', '-i', '127.0.0.1', '-p', String(uasPort), '-mp', String(uasPort + 2)]);
  try {
    const port = await ports.next();
    const run = await runSipp({
      args: [
        `127.0.0.1:${uasPort}`,
        '-sf', join(projectRoot(), 'bench/baseline-uac.xml'),
        '-s', 'echo', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2),
        '-m', String(calls), '-l', String(calls), '-r', String(RAMP_RATE), '-d', '6000',
      ],
      timeoutMs: (calls / RAMP_RATE) * 1000 + 120_000,
    });
    const { succeeded, failed } = sippCounts(run);
    return { calls, succeeded, failed: calls - succeeded, failureRate: (calls - succeeded) / calls || (failed > 0 ? failed / calls : 0) };
  } finally {
    uas.child.kill('SIGKILL');
  }
}
