/**
 * rtpengine (Debian `rtpengine-daemon`) as a child process on loopback, for
 * the benchmark's peer and its test: userspace forwarding only (`--table=-1`,
 * no kernel module), no config file, its ng control port and RTP ports given,
 * in the foreground so it is stopped by its own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { NgClient } from './ng-client.js';

export interface RtpengineOptions {
  /** UDP port of the ng control protocol on 127.0.0.1. */
  readonly ngPort: number;
  /** The RTP ports it relays on (both ends included). */
  readonly portMin: number;
  readonly portMax: number;
  /** Worker threads (--num-threads). Default: rtpengine's own (one per core). */
  readonly threads?: number;
  /** How long to wait for it to answer a ping. Default 10 s. */
  readonly timeoutMs?: number;
}

export interface RunningRtpengine {
  readonly pid: number;
  readonly ng: NgClient;
  /** What it logged (stderr), for a failure's message. */
  readonly output: string[];
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

export class RtpengineStartError extends Error {
  override readonly name = 'RtpengineStartError';
}

export async function startRtpengine(options: RtpengineOptions): Promise<RunningRtpengine> {
  const args = [
    '--config-file=none',
    '--table=-1',
    '--interface=127.0.0.1',
    `--listen-ng=127.0.0.1:${options.ngPort}`,
    `--port-min=${options.portMin}`,
    `--port-max=${options.portMax}`,
    ...(options.threads ? [`--num-threads=${options.threads}`] : []),
    '--foreground',
    '--log-stderr',
    '--log-level=4',
    // Calls are deleted at once, so the next step's ports are free.
    '--delete-delay=0',
  ];
  const child: ChildProcess = spawn('rtpengine', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const output: string[] = [];
  child.stderr?.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new RtpengineStartError(`rtpengine did not start: ${err.message}`)));
    void exited.then(() => reject(new RtpengineStartError(`rtpengine exited:\n${output.join('\n')}`)));
  });
  failed.catch(() => undefined);
  const ng = await NgClient.open({ port: options.ngPort, retransmitMs: 250 });
  const stop = async (): Promise<void> => {
    ng.close();
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    try {
      await Promise.race([ng.ping(), failed]);
      break;
    } catch (err) {
      if (err instanceof RtpengineStartError || Date.now() > deadline) {
        await stop();
        throw err instanceof RtpengineStartError ? err : new RtpengineStartError(`rtpengine did not answer a ping:\n${output.join('\n')}`);
      }
    }
  }
  return { pid: child.pid as number, ng, output, stop };
}
