import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteIdentityStore } from '../../../store/sqlite-identity-store.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';

const T0 = Date.parse('2030-01-02T03:04:05.000Z');
const MINUTE = 60_000;

let dir: string;
let clock: number;
let payments: SqlitePaymentStore;
let identities: SqliteIdentityStore;
const now = (): Date => new Date(clock);
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);
const countRows = (): number => (payments.database.prepare('SELECT count(*) AS n FROM revoked_tokens').get() as { n: number }).n;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'identity-store-'));
  clock = T0;
  payments = new SqlitePaymentStore({ dataDir: dir, now });
  identities = new SqliteIdentityStore(payments.database, now);
});
afterEach(() => {
  payments.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('revoked access tokens', () => {
  it('refuses a revoked token id and no other', () => {
    expect(identities.isTokenRevoked('tok_a')).toBe(false);
    identities.revokeToken('tok_a', at(30 * MINUTE));
    expect(identities.isTokenRevoked('tok_a')).toBe(true);
    expect(identities.isTokenRevoked('tok_b')).toBe(false);
  });

  it('takes a second revocation of the same token as a no-op', () => {
    identities.revokeToken('tok_a', at(30 * MINUTE));
    identities.revokeToken('tok_a', at(30 * MINUTE));
    expect(identities.isTokenRevoked('tok_a')).toBe(true);
    expect(countRows()).toBe(1);
  });

  it('keeps a revocation across a reopening of the database', () => {
    identities.revokeToken('tok_a', at(30 * MINUTE));
    payments.close();
    payments = new SqlitePaymentStore({ dataDir: dir, now });
    identities = new SqliteIdentityStore(payments.database, now);
    expect(identities.isTokenRevoked('tok_a')).toBe(true);
  });

  it('is seen by another connection to the same database (another process)', () => {
    const other = new SqlitePaymentStore({ dataDir: dir, now });
    try {
      identities.revokeToken('tok_a', at(30 * MINUTE));
      expect(new SqliteIdentityStore(other.database, now).isTokenRevoked('tok_a')).toBe(true);
    } finally {
      other.close();
    }
  });

  it('prunes revocations once their tokens have expired, and only those', () => {
    identities.revokeToken('tok_short', at(5 * MINUTE));
    identities.revokeToken('tok_long', at(30 * MINUTE));
    clock = T0 + 5 * MINUTE - 1;
    expect(identities.pruneRevokedTokens()).toBe(0);
    clock = T0 + 5 * MINUTE;
    expect(identities.pruneRevokedTokens()).toBe(1);
    expect(identities.isTokenRevoked('tok_short')).toBe(false);
    expect(identities.isTokenRevoked('tok_long')).toBe(true);
  });

  it('prunes on each revocation, so the table holds only unexpired tokens', () => {
    identities.revokeToken('tok_old', at(MINUTE));
    clock = T0 + 2 * MINUTE;
    identities.revokeToken('tok_new', at(32 * MINUTE));
    expect(identities.isTokenRevoked('tok_old')).toBe(false);
    expect(identities.isTokenRevoked('tok_new')).toBe(true);
    expect(countRows()).toBe(1);
  });
});
