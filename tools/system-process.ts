import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../app/project-root.js';

/** The whole system (`app/main.ts`) in a child process. */
export interface RunningSystem {
  readonly httpUrl: string;
  readonly sipPort: number;
  readonly dataDir: string;
  /** The child's process id (its memory is in /proc/<pid>/status). */
  readonly pid: number;
  /** Every line it wrote to stdout and stderr (pino JSON), for the card-data scans. */
  readonly output: string[];
  /** The generated admin API key (DATA_DIR/admin-api-key). */
  readonly adminKey: string;
  /** GET an API path with the admin key; the parsed JSON body. */
  api<T = unknown>(path: string): Promise<T>;
  /** POST a JSON body to an API path with the admin key; the parsed JSON body. */
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Sends `signal` (SIGKILL: a crash) without waiting. */
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the exit code, or the signal that ended the process. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

export interface StartOptions {
  /** How long to wait for the "started" line. Default 20 s. */
  readonly timeoutMs?: number;
  /** Flags for node itself, such as `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /**
   * 'sources': `app/main.ts` through tsx (tests; the default). 'compiled':
   * `dist/app/main.js` as `npm start` runs it, built beforehand with
   * `npm run build` (see `buildSystem`).
   */
  readonly run?: 'sources' | 'compiled';
}

/** `npm run build`: the compiled `dist/` that `npm start` and `run: 'compiled'` run. */
export function buildSystem(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: projectRoot(), stdio: 'inherit' });
}

/**
 * Starts the system with `env` on top of the caller's settings and waits for
 * its "started" line (or fails with what it printed).
 */
export async function startSystem(env: Record<string, string>, options: StartOptions = {}): Promise<RunningSystem> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const dataDir = env.DATA_DIR as string;
  const output: string[] = [];
  const entry = options.run === 'compiled' ? [join(projectRoot(), 'dist/app/main.js')] : ['--import', 'tsx', join(projectRoot(), 'app/main.ts')];
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entry], {
    cwd: projectRoot(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let partial = '';
  const collect = (chunk: Buffer): void => {
    const text = partial + chunk.toString('utf8');
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    output.push(...lines);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));

  const started = await new Promise<{ http: string; payNumber: string }>((resolve, reject) => {
    const deadline = setTimeout(() => {
      clearInterval(poll);
      // Not left running behind a failed start.
      child.kill('SIGKILL');
      reject(new Error(`system did not start:\n${output.join('\n')}`));
    }, timeoutMs);
    const poll = setInterval(() => {
      for (const line of output) {
        if (!line.includes('secure payment IVR started')) continue;
        clearInterval(poll);
        clearTimeout(deadline);
        resolve(JSON.parse(line) as { http: string; payNumber: string });
        return;
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(deadline);
      reject(new Error(`system exited with ${code}:\n${output.join('\n')}`));
    });
  });
  const adminKey = readFileSync(join(dataDir, 'admin-api-key'), 'utf8').trim();
  const sipPort = Number(/:(\d+)$/.exec(started.payNumber)?.[1]);

  return {
    httpUrl: started.http,
    sipPort,
    dataDir,
    pid: child.pid as number,
    output,
    adminKey,
    async api<T>(path: string): Promise<T> {
      const res = await fetch(`${started.http}${path}`, { headers: { authorization: `Bearer ${adminKey}` } });
      if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    async post<T>(path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${started.http}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      });
      if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
      return (res.status === 204 ? undefined : await res.json()) as T;
    },
    exited,
    kill(signal) {
      child.kill(signal);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
      const code = await exited;
      clearTimeout(timer);
      return typeof code === 'number' ? code : null;
    },
  };
}
