import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startLocalPostgres } from '../../../tools/cluster/local-postgres.js';

/** Whether Debian's PostgreSQL server programs are here (the store's own tests install them). */
const serverInstalled = existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));

describe('the local cluster with STORE=postgres', () => {
  it.skipIf(!serverInstalled)('starts a throwaway PostgreSQL as the postgres user, its database open with the password it made, and stops exactly it', { timeout: 60_000 }, async () => {
    const server = await startLocalPostgres();
    try {
      expect(server.safeUrl).not.toContain(':' + new URL(server.url).password + '@');
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query<{ db: string; owner: string }>('SELECT current_database() AS db, current_user AS owner');
      await client.end();
      expect(rows).toEqual([{ db: 'payment_ivr', owner: 'payment_ivr' }]);
      // initdb refuses root: as root, the server runs as the postgres account.
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1];
      const postgresUid = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'))?.split(':')[2];
      expect(uid).toBe(process.getuid?.() === 0 ? postgresUid : String(process.getuid?.()));
      // Another password: refused (SCRAM, not trust).
      const anonymous = new pg.Client({ connectionString: server.safeUrl.replace('//payment_ivr@', '//payment_ivr:wrong@') });
      await expect(anonymous.connect()).rejects.toThrow(/password authentication failed/);
      await anonymous.end().catch(() => undefined);
    } finally {
      await server.stop();
    }
    expect(() => process.kill(server.pid, 0)).toThrow();
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('cluster-postgres-') && existsSync(`${tmpdir()}/${name}/data/postmaster.pid`))).toEqual([]);
  });
});
