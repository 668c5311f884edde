import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readOrCreateSecretFile, readSecretFile, type SecretFileFormat } from '../../../store/data-dir-secret.js';
import { resolveAdminApiKey } from '../../../agent-bridge/admin-api-key.js';
import { AccessTokens } from '../../../agent-bridge/identity/access-token.js';

class UnreadableKey extends Error {}
const format: SecretFileFormat = { size: 32, encoding: 'hex', unreadable: (path) => new UnreadableKey(path) };

describe('a key kept in the data folder', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'secret-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is made once, readable by its owner only, then read back', () => {
    expect(readSecretFile(dir, 'k', format)).toBeUndefined();
    const made = readOrCreateSecretFile(dir, 'k', format);
    expect(made.source).toBe('generated');
    expect(made.bytes).toHaveLength(32);
    expect(statSync(made.path).mode & 0o777).toBe(0o600);
    expect(readFileSync(made.path, 'utf8')).toBe(`${made.bytes.toString('hex')}\n`);
    const again = readOrCreateSecretFile(dir, 'k', format);
    expect(again).toEqual({ bytes: made.bytes, source: 'file', path: made.path });
  });

  it('is never replaced when the file holds no usable key', () => {
    writeFileSync(join(dir, 'k'), 'abcd\n');
    expect(() => readOrCreateSecretFile(dir, 'k', format)).toThrow(UnreadableKey);
    expect(readFileSync(join(dir, 'k'), 'utf8')).toBe('abcd\n');
  });

  it('backs the admin key and the access-token key, each stable across starts', () => {
    const admin = resolveAdminApiKey(dir, undefined);
    expect(admin.source).toBe('generated');
    expect(resolveAdminApiKey(dir, undefined)).toEqual({ key: admin.key, source: 'file', path: admin.path });
    expect(resolveAdminApiKey(dir, 'x'.repeat(40))).toEqual({ key: 'x'.repeat(40), source: 'environment' });
    const tokenKey = AccessTokens.keyFromDataDir(dir);
    expect(AccessTokens.keyFromDataDir(dir)).toEqual(tokenKey);
    const { token } = new AccessTokens(tokenKey).issue('user-1', 'agent');
    expect(new AccessTokens(AccessTokens.keyFromDataDir(dir)).verify(token)?.sub).toBe('user-1');
  });
});
