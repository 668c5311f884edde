import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditDirectoryForPans } from '../../../ivr/audit/pan-audit.js';

// A public test card number (Stripe's documented Visa test card).
const VISA = '4242424242424242';
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
