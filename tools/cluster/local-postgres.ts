/**
 * A throwaway PostgreSQL (Debian's `postgresql`) for the local cluster:
 * `initdb` in a temporary folder, then `postgres` in the foreground on a
 * free loopback port, both as the `postgres` user when we are root (initdb
 * refuses to run as root). One database, `payment_ivr`, owned by a role
 * with a random password (SCRAM); `stop()` ends exactly the server it
 * started, by its id, and removes the folder.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../sipp/sipp-process.js';

/** initdb or the server failed, or the server did not take connections in time. */
export class LocalPostgresError extends Error {
  override readonly name = 'LocalPostgresError';
}

export interface RunningPostgres {
  /** DATABASE_URL for the nodes (holds the password: never print it; `describe` prints `safeUrl`). */
  readonly url: string;
  /** The same without the password. */
  readonly safeUrl: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** Default 20 s for initdb plus start-up. */
  readonly timeoutMs?: number;
}

const DATABASE = 'payment_ivr';
const ROLE = 'payment_ivr';

/** Debian keeps the server programs off PATH, under /usr/lib/postgresql/<version>/bin. */
function serverProgram(name: 'initdb' | 'postgres'): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const path = join(root, version, 'bin', name);
    if (existsSync(path)) return path;
  }
  return name;
}

/** The postgres account's uid and gid from /etc/passwd, when we are root. */
function postgresAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new LocalPostgresError('running as root and there is no postgres user (install Debian\'s postgresql)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function runToEnd(program: string, args: string[], account: { uid: number; gid: number } | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], ...account });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => reject(new LocalPostgresError(`${program}: ${err.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new LocalPostgresError(`${program} exited with ${code}:\n${output}`))));
  });
}

export async function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<RunningPostgres> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const account = postgresAccount();
  const dir = mkdtempSync(join(tmpdir(), 'cluster-postgres-'));
  if (account) chownSync(dir, account.uid, account.gid);
  const password = randomBytes(18).toString('base64url');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (account) chownSync(pwfile, account.uid, account.gid);
  const data = join(dir, 'data');
  try {
    await runToEnd(serverProgram('initdb'), ['-D', data, '-U', ROLE, '--pwfile', pwfile, '--auth', 'scram-sha-256', '-E', 'UTF8', '--no-instructions'], account);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  rmSync(pwfile);

  const port = await freePort(37000);
  const server = spawn(serverProgram('postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...account,
  });
  const output: string[] = [];
  server.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  server.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  let exited = false;
  const closed = new Promise<void>((resolve) =>
    server.on('close', () => {
      exited = true;
      resolve();
    }),
  );
  const pid = server.pid as number;
  const stop = async (): Promise<void> => {
    // SIGINT: PostgreSQL's "fast" shutdown (ends the sessions, checkpoints, exits).
    if (!exited) server.kill('SIGINT');
    const timer = setTimeout(() => !exited && server.kill('SIGKILL'), 10_000);
    await closed;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };

  const admin = `postgresql://${ROLE}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: admin });
    try {
      await client.connect();
      await client.query(`CREATE DATABASE ${DATABASE}`);
      await client.end();
      break;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (exited || Date.now() > deadline) {
        await stop();
        throw new LocalPostgresError(`PostgreSQL did not start: ${err instanceof Error ? err.message : String(err)}\n${output.join('')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url: `postgresql://${ROLE}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    safeUrl: `postgresql://${ROLE}@127.0.0.1:${port}/${DATABASE}`,
    pid,
    stop,
  };
}
