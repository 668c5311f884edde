/**
 * SIPp as a child process, for the QA runner (`npm run qa`) and the test
 * suite: run to completion or start and kill, free ports on loopback, the
 * injection files of the key-step scenarios in tests/sipp.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SippRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** SIPp's error log (-trace_err), when it wrote one. */
  readonly errors: string;
  readonly durationMs: number;
}

export interface SippOptions {
  /** Arguments after `sipp`. A `-trace_err` log goes into a fresh folder. */
  readonly args: readonly string[];
  /** The process is killed after this long. Default 30 s. */
  readonly timeoutMs?: number;
}

const running = new Set<ChildProcess>();

/**
 * Runs one SIPp process to completion (spawned, never `-bg`, which can hang),
 * always with `-nostdin`, and kills it at the timeout. Exit code 0 means every
 * call of the scenario succeeded.
 */
export function runSipp(options: SippOptions): Promise<SippRun> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const args = [...options.args, '-nostdin', '-trace_err', '-error_file', join(dir, 'errors.log')];
  const started = Date.now();
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return new Promise((resolve) => {
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      running.delete(child);
      const errors = readdirSync(dir).includes('errors.log') ? readFileSync(join(dir, 'errors.log'), 'utf8') : '';
      resolve({ exitCode, stdout, stderr, errors, durationMs: Date.now() - started });
    });
  });
}

/** Starts SIPp in the background (a UAS, say); stop it with `kill`. */
export function startSipp(args: readonly string[]): { child: ChildProcess; done: Promise<SippRun> } {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const started = Date.now();
  const child = spawn('sipp', [...args, '-nostdin'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<SippRun>((resolve) =>
    child.on('close', (exitCode) => {
      running.delete(child);
      resolve({ exitCode, stdout, stderr, errors: '', durationMs: Date.now() - started });
    }),
  );
  return { child, done };
}

/** Kills every SIPp a test left running (afterEach/afterAll). */
export function killAllSipp(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/**
 * A UDP and TCP port pair free on 127.0.0.1 now, below the ephemeral range,
 * spread by the vitest worker so parallel files do not collide. SIPp's `-mp P`
 * also binds P+2: callers leave a gap.
 *
 * Free now is not free when the caller binds: two callers (in this process or
 * another test file's) could both see a port free before either binds it. So a
 * port handed out is also claimed in a shared folder for RESERVATION_MS, and
 * nobody is handed a claimed port.
 */
export async function freePort(base = 30000): Promise<number> {
  return claimFreePort(base, async (port) => (await udpFree(port)) && (await tcpFree(port)) && claimPorts(port, port + 2));
}

/** A TCP port free on 127.0.0.1 now and claimed like freePort's, for a server that listens on TCP only (PostgreSQL). */
export async function freeTcpPort(base = 30000): Promise<number> {
  return claimFreePort(base, async (port) => (await tcpFree(port)) && claimPorts(port));
}

async function claimFreePort(base: number, take: (port: number) => Promise<boolean>): Promise<number> {
  const worker = Number(process.env.VITEST_POOL_ID ?? '1');
  let port = base + worker * 1000 + Math.floor(Math.random() * 400) * 2;
  for (let i = 0; i < 200; i++, port += 2) if (await take(port)) return port;
  throw new Error('no free port found');
}

const RESERVATION_MS = 120_000;
const RESERVATIONS = join(tmpdir(), 'payivr-port-claims');

/** Claims every port in `ports` for RESERVATION_MS, or none of them when another caller holds one. */
function claimPorts(...ports: number[]): boolean {
  mkdirSync(RESERVATIONS, { recursive: true });
  const claimed: string[] = [];
  for (const port of ports) {
    const file = join(RESERVATIONS, String(port));
    if (claimFile(file)) {
      claimed.push(file);
      continue;
    }
    for (const f of claimed) rmSync(f, { force: true });
    return false;
  }
  return true;
}

function claimFile(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    // Claimed before: take it over only once the claim is stale (its caller has bound it or given up).
    try {
      if (Date.now() - statSync(file).mtimeMs < RESERVATION_MS) return false;
      utimesSync(file, new Date(), new Date());
      return true;
    } catch {
      return false;
    }
  }
}

/** Whether `port` can be bound on 127.0.0.1 for UDP now. */
export function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Whether `port` can be bound on 127.0.0.1 for TCP now. */
export function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** SIPp's play_dtmf sends a key every 200 ms and does not wait for them to go. */
const PLAY_DTMF_KEY_MS = 200;

/**
 * The injection file (`-inf`) of tests/sipp/direct-pay-keys.xml and
 * direct-pay-hangup.xml for one call: each step's keys, then a pause of
 * `pauseMs` after the last of them. Written to `path`; returns SIPp's args.
 */
export function keyStepsInjection(path: string, ...steps: [keys: string, pauseMs: number][]): string[] {
  return keyStepsInjectionFrom(path, 'qa', ...steps);
}

/**
 * keyStepsInjection for a caller whose From URI's user part is `caller`
 * (field 12 of direct-pay-keys.xml): a phone number such as `+447700900123`.
 */
export function keyStepsInjectionFrom(path: string, caller: string, ...steps: [keys: string, pauseMs: number][]): string[] {
  if (steps.length > 6) throw new RangeError('the scenarios take up to six steps');
  const fields = steps.flatMap(([keys, pauseMs]) => [keys, String(keys.length * PLAY_DTMF_KEY_MS + pauseMs)]);
  while (fields.length < 12) fields.push('', '0');
  writeFileSync(path, `SEQUENTIAL\n${[...fields, caller].join(';')};\n`);
  return ['-inf', path];
}

/**
 * Ports for SIPp processes that run at the same time in one test file: P for
 * `-p P -mp P+2` (SIPp also binds P+4), handed out in turn so that
 * concurrent tests never draw the same ones; each is checked free.
 */
export class SippPortSequence {
  readonly #base: number;
  #next: number | undefined;

  constructor(base: number) {
    this.#base = base;
  }

  async next(): Promise<number> {
    for (let i = 0; i < 50; i++) {
      // Claimed before any await, so concurrent callers get different ports.
      const port = this.#next ?? this.#base + Number(process.env.VITEST_POOL_ID ?? '1') * 1000;
      this.#next = port + 6;
      if ((await udpFree(port)) && (await tcpFree(port)) && (await udpFree(port + 2)) && (await udpFree(port + 4)) && claimPorts(port, port + 2, port + 4)) return port;
    }
    throw new Error('no free SIPp ports');
  }
}
