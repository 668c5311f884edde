import { existsSync, readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPostgres } from '../../../tools/postgres-server.js';

/** Whether Debian's PostgreSQL server programs are here (the store's own tests install them). */
const serverInstalled = existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));

describe('the local cluster\'s PostgreSQL (tools/postgres-server.ts with a password)', () => {
  it.skipIf(!serverInstalled)('starts a throwaway PostgreSQL as the postgres user, its database open with the password it made only, and stops exactly it', { timeout: 60_000 }, async () => {
    const server = await startPostgres({ database: 'payment_ivr', password: true });
    try {
      const password = new URL(server.url()).password;
      expect(password.length).toBeGreaterThan(16);
      expect(server.safeUrl()).not.toContain(password);
      const client = new pg.Client({ connectionString: server.url() });
      await client.connect();
      const { rows } = await client.query<{ db: string; owner: string }>('SELECT current_database() AS db, current_user AS owner');
      await client.end();
      expect(rows).toEqual([{ db: 'payment_ivr', owner: 'postgres' }]);
      // initdb refuses root: as root, the server runs as the postgres account.
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1];
      const postgresUid = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'))?.split(':')[2];
      expect(uid).toBe(process.getuid?.() === 0 ? postgresUid : String(process.getuid?.()));
      // Another password, or none: refused (SCRAM, not trust).
      for (const wrong of [server.safeUrl().replace('//postgres@', '//postgres:wrong@'), server.safeUrl()]) {
        const other = new pg.Client({ connectionString: wrong });
        await expect(other.connect()).rejects.toThrow(/password/);
        await other.end().catch(() => undefined);
      }
    } finally {
      await server.stop();
    }
    expect(() => process.kill(server.pid, 0)).toThrow();
    expect(existsSync(server.dir)).toBe(false);
  });
});
