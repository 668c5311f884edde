import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SECRET_SETTINGS } from '../../../app/config.js';
import { resolveStatusCallbackKey, STATUS_CALLBACK_KEY_FILE } from '../../../app/status-callback-key.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'status-callback-key-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the status callback key', () => {
  it('is STATUS_CALLBACK_SECRET when set (at least 32 bytes, a secret), and then no file is written', () => {
    const hex = randomBytes(32).toString('hex');
    const configured = loadConfig({ STATUS_CALLBACK_SECRET: hex }).STATUS_CALLBACK_SECRET;
    expect(configured).toEqual(Buffer.from(hex, 'hex'));
    expect(resolveStatusCallbackKey(dir, configured)).toEqual({ key: configured, source: 'environment' });
    expect(() => statSync(join(dir, STATUS_CALLBACK_KEY_FILE))).toThrow();
    expect(() => loadConfig({ STATUS_CALLBACK_SECRET: 'ab'.repeat(16) })).toThrow(ConfigError);
    expect(SECRET_SETTINGS.has('STATUS_CALLBACK_SECRET')).toBe(true);
  });

  it('is generated once into DATA_DIR/status-callback-key (256 bits, hex, mode 0600) and read back at the next start', () => {
    const first = resolveStatusCallbackKey(dir, undefined);
    const path = join(dir, STATUS_CALLBACK_KEY_FILE);
    expect(first).toMatchObject({ source: 'generated', path });
    expect(first.key).toHaveLength(32);
    expect(readFileSync(path, 'utf8')).toBe(`${first.key.toString('hex')}\n`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(resolveStatusCallbackKey(dir, undefined)).toEqual({ key: first.key, source: 'file', path });
  });

  it('refuses a file that holds no key of 32 bytes rather than replace it', () => {
    const path = join(dir, STATUS_CALLBACK_KEY_FILE);
    writeFileSync(path, 'ab'.repeat(16));
    expect(() => resolveStatusCallbackKey(dir, undefined)).toThrow(ConfigError);
    expect(readFileSync(path, 'utf8')).toBe('ab'.repeat(16));
  });
});
