/**
 * Kamailio (Debian's `kamailio` 5.6) in front of IVR nodes on loopback, for
 * the local cluster and its tests: started through kamailio/run-kamailio.sh
 * on kamailio/kamailio.cfg, exactly as the docker image starts it, with its
 * own run folder (dispatcher list, control socket). `stop()` ends exactly
 * the process group it started, by its id.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../app/project-root.js';
import { freePort } from '../sipp/sipp-process.js';

/** One `kamcmd` command on Kamailio's control socket; its text output. */
function kamcmd(ctl: string, command: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('kamcmd', ['-s', ctl, command], { timeout: 3000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
}

/** Kamailio did not start, or did not answer on its control socket. */
export class KamailioStartError extends Error {
  override readonly name = 'KamailioStartError';
}

/** One destination of the dispatcher set, as `kamcmd dispatcher.list` shows it. */
export interface DispatcherTarget {
  /** `sip:host:port`. */
  readonly uri: string;
  /** Kamailio's flags: `AP` active (probed), `IP` inactive, `DX` disabled... */
  readonly flags: string;
  /** The first flag is `A`: new calls may go there. */
  readonly active: boolean;
}

export interface KamailioOptions {
  /** The IVR nodes' SIP addresses (`host:port`). */
  readonly nodes: readonly string[];
  /** Where Kamailio listens (UDP and TCP) on 127.0.0.1. Default: a free port. */
  readonly sipPort?: number;
  /** OPTIONS probe interval (KAMAILIO_PROBE_SECONDS). Default 2. */
  readonly probeSeconds?: number;
  /** How long a node that sends nothing back is waited for (KAMAILIO_NODE_TIMEOUT_MS). Default 1500. */
  readonly nodeTimeoutMs?: number;
  /** How long start-up may take. Default 10 s. */
  readonly startTimeoutMs?: number;
}

export interface RunningKamailio {
  readonly sipPort: number;
  readonly pid: number;
  readonly probeSeconds: number;
  readonly nodeTimeoutMs: number;
  /** Every line Kamailio wrote (stderr logging): the dispatch and failover notices. */
  readonly output: string[];
  /** The dispatcher set as Kamailio holds it now. */
  dispatcherTargets(): Promise<DispatcherTarget[]>;
  /** Each call's Call-ID and the node (`sip:host:port`) each INVITE of it was sent to, in order. */
  dispatched(): Map<string, string[]>;
  /** SIGTERM to its process group, SIGKILL after 5 s; removes the run folder. */
  stop(): Promise<void>;
}

/** Parses `kamcmd dispatcher.list` output (kamcmd's own text tree). */
export function parseDispatcherList(text: string): DispatcherTarget[] {
  const targets: DispatcherTarget[] = [];
  for (const m of text.matchAll(/URI:\s*(\S+)\s+FLAGS:\s*(\S+)/g)) {
    const flags = m[2]!;
    targets.push({ uri: m[1]!, flags, active: flags.startsWith('A') });
  }
  return targets;
}

export async function startKamailio(options: KamailioOptions): Promise<RunningKamailio> {
  const sipPort = options.sipPort ?? (await freePort(36000));
  const probeSeconds = options.probeSeconds ?? 2;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1500;
  const runDir = mkdtempSync(join(tmpdir(), 'kamailio-'));
  const ctl = `unixs:${join(runDir, 'kamailio_ctl')}`;
  const child = spawn(join(projectRoot(), 'kamailio/run-kamailio.sh'), [], {
    env: {
      PATH: process.env.PATH ?? '',
      KAMAILIO_NODES: options.nodes.join(','),
      KAMAILIO_RUN_DIR: runDir,
      KAMAILIO_LISTEN: `127.0.0.1:${sipPort}`,
      KAMAILIO_CTL_SOCKET: ctl,
      KAMAILIO_PROBE_SECONDS: String(probeSeconds),
      KAMAILIO_NODE_TIMEOUT_MS: String(nodeTimeoutMs),
      KAMAILIO_LOG_LEVEL: '1',
      // One worker: with several, a node's 180 and 200 can leave Kamailio in the reverse order.
      // A phone's transaction absorbs the late 180 (RFC 3261 §17.1.1.2); SIPp aborts the call on it.
      KAMAILIO_CHILDREN: '1',
      KAMAILIO_MEMORY_MB: '32',
    },
    // Its own process group: Kamailio forks its workers, and stop() ends all of them by the group's id.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new KamailioStartError('kamailio/run-kamailio.sh could not be started');
  const output: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer): void => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    output.push(...lines);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  const closed = new Promise<void>((resolve) =>
    child.on('close', () => {
      exited = true;
      resolve();
    }),
  );

  const dispatcherTargets = async (): Promise<DispatcherTarget[]> => {
    return parseDispatcherList(await kamcmd(ctl, 'dispatcher.list'));
  };

  const stop = async (): Promise<void> => {
    if (!exited) {
      process.kill(-pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) process.kill(-pid, 'SIGKILL');
      }, 5000);
      await closed;
      clearTimeout(timer);
    }
    rmSync(runDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  for (;;) {
    if (exited) {
      rmSync(runDir, { recursive: true, force: true });
      throw new KamailioStartError(`kamailio exited at start-up:\n${output.join('\n')}`);
    }
    try {
      if ((await dispatcherTargets()).length === options.nodes.length) break;
    } catch {
      // The control socket is not there yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new KamailioStartError(`kamailio did not answer on ${ctl}:\n${output.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    sipPort,
    pid,
    probeSeconds,
    nodeTimeoutMs,
    output,
    dispatcherTargets,
    dispatched() {
      const calls = new Map<string, string[]>();
      for (const line of output) {
        // kamailio.cfg's route[DISPATCH] and failure_route: "{1 INVITE <call-id>} dispatch <call-id> to sip:host:port".
        const m = /dispatch (\S+) to (sip:\S+)/.exec(line);
        if (!m) continue;
        calls.set(m[1]!, [...(calls.get(m[1]!) ?? []), m[2]!]);
      }
      return calls;
    },
    stop,
  };
}
