import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditDirectoryForPans } from '../../../tools/audit/pan-audit.js';
import { formatOpaqueId, newOpaqueId } from '../../../domain/opaque-id.js';
import { TEST_CARDS } from '../../../tools/test-cards.js';

const VISA = TEST_CARDS.visa;
const dir = mkdtempSync(join(tmpdir(), 'pan-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PAN audit of a data directory', () => {
  it('finds a card number in any file, at any depth, across chunk boundaries, showing only the last four', () => {
    mkdirSync(join(dir, 'logs/old'), { recursive: true });
    writeFileSync(join(dir, 'clean.log'), 'order 1001 paid 4250 EUR at 2026-11-22T10:00:00Z\n');
    writeFileSync(join(dir, 'logs/old/leak.log'), `{"msg":"card 4242 4242 4242 4242"}\n`);
    const big = Buffer.alloc((1 << 20) + 64, 0x20);
    big.write(VISA, (1 << 20) - 7, 'latin1');
    writeFileSync(join(dir, 'big.bin'), big);
    const report = auditDirectoryForPans(dir);
    expect(report.filesScanned).toBe(3);
    expect(report.findings.map((f) => `${f.file}:${f.last4}`).sort()).toEqual(['big.bin:4242', 'logs/old/leak.log:4242']);
    expect(report.findings.find((f) => f.file === 'big.bin')?.offset).toBe((1 << 20) - 7);
  });

  it('ignores digit runs inside random hex ids and hashes, not card numbers written as numbers', () => {
    const hexDir = mkdtempSync(join(tmpdir(), 'pan-audit-hex-'));
    // Luhn-valid 12-digit runs, as random ids and SHA-256 hashes hold one in ten times.
    writeFileSync(join(hexDir, 'ids.db'), 'pay_979347999752cce1d4de\x00af26c2678d235076f41df775a0b3713eb2339f0516578831443f08b1687428c27e\n{"prev":"0000000000000000"}\n');
    writeFileSync(join(hexDir, 'leaks.log'), `{"pan":"${VISA}"}\ncard=${VISA};\n${VISA}\n`);
    const report = auditDirectoryForPans(hexDir);
    expect(report.findings.map((f) => f.file)).toEqual(['leaks.log', 'leaks.log', 'leaks.log']);
    rmSync(hexDir, { recursive: true, force: true });
  });

  it('does not read a last four stored beside a date as a card number', () => {
    const rowDir = mkdtempSync(join(tmpdir(), 'pan-audit-row-'));
    // SQLite stores a row's text columns back to back: card_last4 then created_at.
    writeFileSync(join(rowDir, 'tokens.db'), `cust-1visa${VISA.slice(-4)}2026-12-10T05:28:10.123Z\n`);
    writeFileSync(join(rowDir, 'grouped.log'), `${VISA.replace(/(\d{4})(?=\d)/g, '$1-')}\n${TEST_CARDS.amex.replace(/^(\d{4})(\d{6})/, '$1 $2 ')}\n`);
    const report = auditDirectoryForPans(rowDir);
    expect(report.findings.map((f) => `${f.file}:${f.last4}`)).toEqual(['grouped.log:4242', 'grouped.log:0005']);
    rmSync(rowDir, { recursive: true, force: true });
  });

  it('never takes an id of ours for a card number, even one whose bytes spell a Luhn-valid run', () => {
    const idDir = mkdtempSync(join(tmpdir(), 'pan-audit-ids-'));
    // The worst case: 16 of the 24 hex digits are a Luhn-valid card number.
    const worst = formatOpaqueId('leg', Buffer.from(`${VISA}abcdef01`, 'hex'));
    const many = Array.from({ length: 20_000 }, () => newOpaqueId('idem')).join('\n');
    writeFileSync(join(idDir, 'ids.log'), `${worst}\n${many}\n`);
    // What the shorter ids did (a 16-hex leg id, a UUID's last group): found.
    writeFileSync(join(idDir, 'short.log'), `leg_${VISA.slice(0, 12)}abcd\nidem_8a3e43a4-1c4e-4b52-9f1e-${VISA.slice(0, 12)}\n`);
    const report = auditDirectoryForPans(idDir);
    expect(report.findings.map((f) => f.file)).toEqual(['short.log', 'short.log']);
    rmSync(idDir, { recursive: true, force: true });
  });

  it('runs as `npm run audit:pan DIR` and exits non-zero on a finding', () => {
    const clean = mkdtempSync(join(tmpdir(), 'pan-audit-clean-'));
    writeFileSync(join(clean, 'a.log'), 'nothing to see 4242424242424241\n');
    const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
    const ok = execFileSync(tsx, ['scripts/audit-pan.ts', clean], { encoding: 'utf8' });
    expect(ok).toMatch(/1 files, .* 0 card numbers found/);
    let failed: { status: number; stdout: string } | undefined;
    try {
      execFileSync(tsx, ['scripts/audit-pan.ts', dir], { encoding: 'utf8' });
    } catch (err) {
      failed = err as { status: number; stdout: string };
    }
    expect(failed?.status).toBe(1);
    expect(failed?.stdout).toContain('PAN ****4242 in logs/old/leak.log');
    expect(failed?.stdout).not.toContain(VISA);
    rmSync(clean, { recursive: true, force: true });
  });
});
