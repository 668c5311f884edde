import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PspTimeoutError, SandboxPsp } from '../../../psp/sandbox-psp.js';
import { CardData } from '../../../vault/card-data.js';

const dir = mkdtempSync(join(tmpdir(), 'sandbox-psp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const card = (pan: string, brand: 'visa' | 'mastercard' | 'amex' = 'visa') =>
  new CardData({ pan, expiry: '1230', securityCode: '123', brand });
const request = (key: string, amountMinor = 4250) => ({ amountMinor, currency: 'EUR', reference: '1001', idempotencyKey: key, moto: true as const });

// Public test card numbers (Stripe's documented test cards).
const CASES: [string, string, unknown][] = [
  ['4242424242424242', 'visa', { kind: 'approved' }],
  ['5555555555554444', 'mastercard', { kind: 'approved' }],
  ['378282246310005', 'amex', { kind: 'approved' }],
  ['4000000000000002', 'visa', { kind: 'declined', reason: 'generic-decline' }],
  ['4000000000009995', 'visa', { kind: 'declined', reason: 'insufficient-funds' }],
  ['4000000000000069', 'visa', { kind: 'declined', reason: 'expired-card' }],
  ['4000000000000119', 'visa', { kind: 'error', code: 'processing-error', retryable: false }],
];

describe('SandboxPsp', () => {
  it('answers each test card as documented', async () => {
    const psp = new SandboxPsp({ latencyMs: 0 });
    for (const [pan, brand, expected] of CASES) {
      expect(await psp.authorise(request(`k-${pan}`), card(pan, brand as 'visa'))).toMatchObject(expected as object);
    }
  });

  it('charges once per idempotency key and returns the same outcome', async () => {
    const psp = new SandboxPsp({ latencyMs: 0 });
    const first = await psp.authorise(request('same'), card('4242424242424242'));
    const second = await psp.authorise(request('same'), card('4242424242424242'));
    expect(second).toEqual(first);
    expect(psp.charges()).toHaveLength(1);
    expect(await psp.lookup('same')).toEqual(first);
    expect(await psp.lookup('never')).toEqual({ kind: 'not-found' });
  });

  it('refuses a key reused for another amount', async () => {
    const psp = new SandboxPsp({ latencyMs: 0 });
    await psp.authorise(request('reuse'), card('4242424242424242'));
    expect(await psp.authorise(request('reuse', 1), card('4242424242424242'))).toEqual({ kind: 'error', code: 'idempotency-key-reuse', retryable: false });
  });

  it('charges the no-answer card but never answers; lookup tells', async () => {
    const psp = new SandboxPsp({ latencyMs: 0 });
    await expect(psp.authorise(request('lost'), card('4000000000000341'), { signal: AbortSignal.timeout(50) })).rejects.toBeInstanceOf(PspTimeoutError);
    expect(await psp.lookup('lost')).toMatchObject({ kind: 'approved' });
  });

  it('keeps its ledger across restarts, without card numbers', async () => {
    const ledgerFile = join(dir, 'ledger.json');
    const a = new SandboxPsp({ latencyMs: 0, ledgerFile });
    const outcome = await a.authorise(request('persisted'), card('4242424242424242'));
    const b = new SandboxPsp({ latencyMs: 0, ledgerFile });
    expect(await b.lookup('persisted')).toEqual(outcome);
    const bytes = readFileSync(ledgerFile, 'utf8');
    expect(bytes).not.toContain('4242424242424242');
    expect(bytes).toContain('"last4": "4242"');
  });
});
