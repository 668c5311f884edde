import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freeTcpPort } from './sipp/sipp-process.js';

/** A throw-away PostgreSQL server on loopback, for tests, demos and the local cluster. */
export interface RunningPostgres {
  /** 127.0.0.1 */
  readonly host: string;
  readonly port: number;
  /** The postmaster's process id (what `stop` signals). */
  readonly pid: number;
  /** The temporary folder it lives in (data and socket), removed by `stop`. */
  readonly dir: string;
  /** The connection string of `database` (default: the one created at start); with `password`, it holds the password: never print it. */
  url(database?: string): string;
  /** The same without the password, for printing. */
  safeUrl(database?: string): string;
  /** Creates a database owned by the server's superuser; resolves with its connection string. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown (SIGINT to the postmaster), waits for it, removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface PostgresServerOptions {
  /** The database created at start. Default `payments`. */
  readonly database?: string;
  /** The server's binaries. Default: PG_BIN, else Debian's newest /usr/lib/postgresql/<version>/bin. */
  readonly binDir?: string;
  /** How long to wait for the server to accept connections. Default 30 s. */
  readonly timeoutMs?: number;
  /** SCRAM with a random password (a server other processes use, as `npm run cluster`'s). Default false: trust, loopback only. */
  readonly password?: boolean;
}

const INITDB_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 3_000;
const STOP_TIMEOUT_MS = 10_000;

/** Debian keeps the server programs off PATH, under /usr/lib/postgresql/<version>/bin: the newest there. */
function debianBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  return join(root, versions.find((v) => existsSync(join(root, v, 'bin', 'initdb'))) ?? '15', 'bin');
}

/**
 * Runs `initdb` in a temporary folder and starts `postgres` on a free
 * loopback port, its unix socket in that folder too (nothing in
 * /var/run/postgresql). initdb and postgres refuse to run as root: as root
 * (CI) both run as the `postgres` user through `runuser`. Trust
 * authentication on loopback unless `password`; fsync off, since a
 * throw-away server never outlives a power cut (its folder goes at stop).
 */
export async function startPostgres(options: PostgresServerOptions = {}): Promise<RunningPostgres> {
  const bin = options.binDir ?? process.env.PG_BIN ?? debianBinDir();
  const database = options.database ?? 'payments';
  const dir = mkdtempSync(join(tmpdir(), 'postgres-'));
  const dataDir = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  let owner: { uid: number; gid: number } | undefined;
  if (asRoot) {
    // The postgres user's uid and gid, from its passwd line (name:password:uid:gid:…).
    const entry = readFileSync('/etc/passwd', 'utf8').split('\n').find((line) => line.startsWith('postgres:'));
    if (!entry) throw new Error('running as root needs a postgres user (Debian package postgresql-15)');
    const [, , uid, gid] = entry.split(':');
    owner = { uid: Number(uid), gid: Number(gid) };
    chownSync(dir, owner.uid, owner.gid);
  }
  const command = (program: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), args];

  const password = options.password ? randomBytes(18).toString('base64url') : undefined;
  const auth = ['-A', 'trust'];
  if (password) {
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) chownSync(pwfile, owner.uid, owner.gid);
    auth.splice(0, 2, '-A', 'scram-sha-256', '--pwfile', pwfile);
  }
  const [initdb, initArgs] = command('initdb', ['-D', dataDir, ...auth, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const init = spawnSync(initdb, initArgs, { encoding: 'utf8', timeout: INITDB_TIMEOUT_MS });
  rmSync(join(dir, 'pwfile'), { force: true });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.error?.message ?? ''} ${init.stderr || init.stdout}`.trim());
  }
  // In the configuration file, not on the command line, so that a test may change them (ALTER SYSTEM, reload).
  appendFileSync(join(dataDir, 'postgresql.conf'), 'fsync = off\nfull_page_writes = off\nmax_connections = 200\n');
  // Claimed like the SIPp ports: a port another test's server takes between our check and postgres's bind would
  // leave postgres exited and our probe talking to that server.
  const port = await freeTcpPort(40000);
  const [postgres, serverArgs] = command('postgres', ['-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1']);
  const child = spawn(postgres, serverArgs, { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  const log: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));

  const safeUrl = (name = database): string => `postgres://postgres@127.0.0.1:${port}/${name}`;
  const url = (name = database): string => (password ? `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${name}` : safeUrl(name));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    // Bounded: pg waits for ever for a server that accepts and never answers.
    const client = new pg.Client({ connectionString: url('postgres'), connectionTimeoutMillis: PROBE_TIMEOUT_MS });
    try {
      await client.connect();
      await client.end();
      break;
    } catch {
      // Not awaited: after a timed-out connect, pg's end() may wait for a close that already happened.
      void client.end().catch(() => undefined);
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`postgres did not start: ${log.join('').slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // The postmaster itself (under runuser it is not our child): its pid is the first line of postmaster.pid.
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

  const createDatabase = async (name: string): Promise<string> => {
    const client = new pg.Client({ connectionString: url('postgres'), connectionTimeoutMillis: PROBE_TIMEOUT_MS });
    await client.connect();
    try {
      // An identifier cannot be a bound parameter: only names of letters, digits and _ are taken.
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new TypeError(`not a plain database name: ${name}`);
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return url(name);
  };
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // Already gone.
      }
      // Fast shutdown takes well under a second; a postmaster stuck past that is killed, not waited on for ever.
      const killer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }, STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(killer);
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    await createDatabase(database);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: '127.0.0.1', port, pid, dir, url, safeUrl, createDatabase, stop };
}

// `npx tsx tools/postgres-server.ts` starts one and prints its URL until interrupted.
if (process.argv[1]?.endsWith('postgres-server.ts')) {
  const server = await startPostgres();
  writeFileSync(1, `DATABASE_URL=${server.url()}\n`);
  process.once('SIGINT', () => void server.stop().then(() => process.exit(0)));
}
