import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_KEY_FILE, findAuditKey, resolveAuditKey } from '../../../app/audit-key.js';
import { ConfigError } from '../../../app/config.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'audit-key-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the audit key', () => {
  it('is AUDIT_KEY when set, and then no file is written', () => {
    const configured = randomBytes(32);
    expect(resolveAuditKey(dir, configured)).toEqual({ key: configured, source: 'environment' });
    expect(findAuditKey(dir, undefined)).toBeUndefined();
  });

  it('is generated once into DATA_DIR/audit-key (256 bits, hex, mode 0600) and read back at the next start', () => {
    const first = resolveAuditKey(dir, undefined);
    const path = join(dir, AUDIT_KEY_FILE);
    expect(first).toMatchObject({ source: 'generated', path });
    expect(first.key).toHaveLength(32);
    expect(readFileSync(path, 'utf8')).toBe(`${first.key.toString('hex')}\n`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(resolveAuditKey(dir, undefined)).toEqual({ key: first.key, source: 'file', path });
    expect(findAuditKey(dir, undefined)?.key).toEqual(first.key);
  });

  it('is not found (nor made) by findAuditKey when there is none', () => {
    expect(findAuditKey(dir, undefined)).toBeUndefined();
    expect(() => statSync(join(dir, AUDIT_KEY_FILE))).toThrow();
  });

  it('refuses a file that holds no key of 32 bytes rather than replace it', () => {
    const path = join(dir, AUDIT_KEY_FILE);
    writeFileSync(path, 'ab'.repeat(16));
    expect(() => resolveAuditKey(dir, undefined)).toThrow(ConfigError);
    expect(readFileSync(path, 'utf8')).toBe('ab'.repeat(16));
  });
});
