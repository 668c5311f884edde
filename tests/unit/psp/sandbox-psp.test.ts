import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CardBrand } from '../../../domain/card-brand.js';
import type { AuthorisationRequest } from '../../../psp/psp-port.js';
import { PspTimeoutError, SANDBOX_TEST_CARDS, SandboxLedgerError, SandboxPsp } from '../../../psp/sandbox-psp.js';
import { CardData } from '../../../vault/card-data.js';

const dir = mkdtempSync(join(tmpdir(), 'sandbox-psp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const card = (pan: string, brand: CardBrand = 'visa') => new CardData({ pan, expiry: '1230', securityCode: '123', brand });
const request = (key: string, changes: Partial<AuthorisationRequest> = {}): AuthorisationRequest => ({
  amountMinor: 4250,
  currency: 'EUR',
  reference: '1001',
  idempotencyKey: key,
  moto: true,
  ...changes,
});

// Public test card numbers (Stripe's documented test cards), with the outcome each must give.
const APPROVE = ['4242424242424242', '5555555555554444', '378282246310005'];
const DECLINE: [string, string][] = [
  ['4000000000000002', 'generic-decline'],
  ['4000000000009995', 'insufficient-funds'],
  ['4000000000000069', 'expired-card'],
];
const PROCESSING_ERROR = '4000000000000119';
const NO_ANSWER = '4000000000000341';
const OTHER_VALID = '4000056655665556'; // Stripe's Visa debit test card: not in the table, Luhn-valid.

describe('SandboxPsp test cards', () => {
  const psp = new SandboxPsp({ latencyMs: 0 });

  it.each(APPROVE)('approves %s with an sbx_ reference and a 6-character auth code', async (pan) => {
    const outcome = await psp.authorise(request(`k-${pan}`), card(pan, pan.startsWith('37') ? 'amex' : 'visa'));
    expect(outcome).toEqual({ kind: 'approved', pspReference: expect.stringMatching(/^sbx_[0-9a-f]+$/), authCode: expect.stringMatching(/^[0-9A-Z]{6}$/) });
  });

  it.each(DECLINE)('declines %s as %s', async (pan, reason) => {
    expect(await psp.authorise(request(`k-${pan}`), card(pan))).toEqual({ kind: 'declined', reason, pspReference: expect.stringMatching(/^sbx_/) });
  });

  it('answers a non-retryable processing error for 4000000000000119', async () => {
    expect(await psp.authorise(request('k-119'), card(PROCESSING_ERROR))).toEqual({ kind: 'error', code: 'processing-error', retryable: false });
  });

  it('approves any other Luhn-valid card, whatever the security code and expiry', async () => {
    const odd = new CardData({ pan: OTHER_VALID, expiry: '0199', securityCode: '0000', brand: 'visa' });
    expect(await psp.authorise(request('k-other'), odd)).toMatchObject({ kind: 'approved' });
  });

  it('refuses a card number that fails Luhn, recording nothing', async () => {
    const before = psp.charges().length;
    expect(await psp.authorise(request('k-luhn'), card('4242424242424241'))).toEqual({ kind: 'error', code: 'invalid-card-number', retryable: false });
    expect(psp.charges()).toHaveLength(before);
    expect(await psp.lookup('k-luhn')).toEqual({ kind: 'not-found' });
  });

  it('refuses a bad amount or currency before charging', async () => {
    expect(await psp.authorise(request('k-zero', { amountMinor: 0 }), card(APPROVE[0]!))).toMatchObject({ code: 'invalid-amount' });
    expect(await psp.authorise(request('k-frac', { amountMinor: 1.5 }), card(APPROVE[0]!))).toMatchObject({ code: 'invalid-amount' });
    expect(await psp.authorise(request('k-cur', { currency: 'eur' }), card(APPROVE[0]!))).toMatchObject({ code: 'invalid-currency' });
    expect(await psp.lookup('k-zero')).toEqual({ kind: 'not-found' });
  });

  it('keeps the test-card table and this test in step', () => {
    expect(new Set(SANDBOX_TEST_CARDS.keys())).toEqual(new Set([...APPROVE, ...DECLINE.map(([pan]) => pan), PROCESSING_ERROR, NO_ANSWER]));
  });
});

describe('SandboxPsp idempotency', () => {
  it('charges once per key and returns the same outcome; lookup tells it', async () => {
    const psp = new SandboxPsp({ latencyMs: 0 });
    const first = await psp.authorise(request('same'), card(APPROVE[0]!));
    const second = await psp.authorise(request('same'), card(APPROVE[0]!));
    expect(second).toEqual(first);
    expect(psp.charges()).toHaveLength(1);
    expect(await psp.lookup('same')).toEqual(first);
    expect(await psp.lookup('never')).toEqual({ kind: 'not-found' });
  });

  it('charges its own stored cards for the same customer only, once per key', async () => {
    const psp = new SandboxPsp({ latencyMs: 0 });
    const stored = await psp.authorise(request('tok', { tokenise: { customerReference: 'c1' } }), card(APPROVE[0]!));
    const token = stored.kind === 'approved' ? stored.token! : undefined;
    expect(token).toMatchObject({ token: expect.stringMatching(/^sbxtok_/), customer: 'c1' });
    const charge = { amountMinor: 990, currency: 'EUR', reference: 'SUB-1', idempotencyKey: 'mit-1', storedCard: token! };
    const made = await psp.chargeStoredCard(charge);
    expect(made).toMatchObject({ kind: 'approved', pspReference: expect.stringMatching(/^sbx_/) });
    expect(await psp.chargeStoredCard(charge)).toEqual(made);
    expect(psp.charges().filter((c) => c.idempotencyKey === 'mit-1')).toMatchObject([{ last4: '4242', brand: 'visa', amountMinor: 990 }]);
    expect(await psp.lookup('mit-1')).toEqual(made);
    expect(await psp.chargeStoredCard({ ...charge, idempotencyKey: 'mit-2', storedCard: { ...token!, customer: 'c2' } })).toEqual({ kind: 'error', code: 'unknown-stored-card', retryable: false });
    expect(await psp.chargeStoredCard({ ...charge, idempotencyKey: 'mit-3', storedCard: { token: 'sbxtok_nope', customer: 'c1' } })).toMatchObject({ kind: 'error' });
  });

  it('with manual capture, captures once and at most the amount, refunds only what was captured, voids only what was not', async () => {
    const psp = new SandboxPsp({ latencyMs: 0, capture: 'manual' });
    const pay = async (key: string) => {
      const outcome = await psp.authorise(request(key), card(APPROVE[0]!));
      return outcome.kind === 'approved' ? outcome.pspReference : '';
    };
    const modify = (pspReference: string, kind: 'capture' | 'refund' | 'void', amountMinor: number, key: string) =>
      psp.reverse({ kind, pspReference, amountMinor, currency: 'EUR', idempotencyKey: key });
    const a = await pay('a');
    expect(await modify(a, 'refund', 100, 'r0')).toEqual({ kind: 'refused', code: 'amount-too-large' });
    expect(await modify(a, 'capture', 4251, 'c0')).toEqual({ kind: 'refused', code: 'amount-too-large' });
    expect(await modify(a, 'capture', 3000, 'c1')).toMatchObject({ kind: 'succeeded' });
    expect(await modify(a, 'capture', 1000, 'c2')).toEqual({ kind: 'refused', code: 'already-captured' });
    expect(await modify(a, 'void', 4250, 'v1')).toEqual({ kind: 'refused', code: 'already-captured' });
    expect(await modify(a, 'refund', 3001, 'r1')).toEqual({ kind: 'refused', code: 'amount-too-large' });
    expect(await modify(a, 'refund', 3000, 'r2')).toMatchObject({ kind: 'succeeded' });
    const b = await pay('b');
    expect(await modify(b, 'void', 4250, 'v2')).toMatchObject({ kind: 'succeeded' });
    expect(await modify(b, 'capture', 4250, 'c3')).toEqual({ kind: 'refused', code: 'already-voided' });
    // Automatic capture: nothing to capture.
    const auto = new SandboxPsp({ latencyMs: 0 });
    const outcome = await auto.authorise(request('auto'), card(APPROVE[0]!));
    expect(await auto.reverse({ kind: 'capture', pspReference: outcome.kind === 'approved' ? outcome.pspReference : '', amountMinor: 1, currency: 'EUR', idempotencyKey: 'c4' })).toEqual({
      kind: 'refused',
      code: 'already-captured',
    });
  });

  it('charges once for two concurrent requests with one key', async () => {
    const psp = new SandboxPsp({ latencyMs: 5 });
    const [a, b] = await Promise.all([psp.authorise(request('race'), card(APPROVE[0]!)), psp.authorise(request('race'), card(APPROVE[0]!))]);
    expect(a).toEqual(b);
    expect(psp.charges()).toHaveLength(1);
  });

  it('replays a decline and an error as recorded', async () => {
    const psp = new SandboxPsp({ latencyMs: 0 });
    const declined = await psp.authorise(request('d'), card(DECLINE[0]![0]));
    expect(await psp.authorise(request('d'), card(DECLINE[0]![0]))).toEqual(declined);
    await psp.authorise(request('e'), card(PROCESSING_ERROR));
    expect(await psp.lookup('e')).toEqual({ kind: 'error', code: 'processing-error', retryable: false });
    expect(psp.charges()).toHaveLength(2);
  });

  it.each<[string, Partial<AuthorisationRequest>]>([
    ['amount', { amountMinor: 1 }],
    ['currency', { currency: 'GBP' }],
    ['reference', { reference: '1002' }],
  ])('refuses a key reused with another %s, keeping the first charge', async (_what, changes) => {
    const psp = new SandboxPsp({ latencyMs: 0 });
    const first = await psp.authorise(request('reuse'), card(APPROVE[0]!));
    expect(await psp.authorise(request('reuse', changes), card(APPROVE[0]!))).toEqual({ kind: 'error', code: 'idempotency-key-reuse', retryable: false });
    expect(psp.charges()).toHaveLength(1);
    expect(await psp.lookup('reuse')).toEqual(first);
  });
});

describe('SandboxPsp no-answer card', () => {
  it('records the charge as approved, rejects with PspTimeoutError on abort, and lookup finds it approved', async () => {
    const psp = new SandboxPsp({ latencyMs: 0 });
    const controller = new AbortController();
    const pending = psp.authorise(request('lost'), card(NO_ANSWER), { signal: controller.signal });
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 30));
    expect(settled).toBe(false);
    expect(psp.charges()).toMatchObject([{ idempotencyKey: 'lost', last4: '0341', outcome: { kind: 'approved' } }]);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(PspTimeoutError);
    const found = await psp.lookup('lost');
    expect(found).toMatchObject({ kind: 'approved', pspReference: psp.charges()[0]!.pspReference });
  });

  it('rejects with PspTimeoutError when the abort comes during the latency, charging nothing', async () => {
    const psp = new SandboxPsp({ latencyMs: 1000 });
    await expect(psp.authorise(request('early'), card(APPROVE[0]!), { signal: AbortSignal.timeout(20) })).rejects.toBeInstanceOf(PspTimeoutError);
    expect(psp.charges()).toHaveLength(0);
    expect(await psp.lookup('early')).toEqual({ kind: 'not-found' });
  });

  it('rejects at once for a signal already aborted', async () => {
    const psp = new SandboxPsp({ latencyMs: 0 });
    await expect(psp.lookup('x', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(PspTimeoutError);
  });
});

describe('SandboxPsp ledger file', () => {
  it('keeps its ledger across a restart, so an in-doubt charge is found by the next process', async () => {
    const ledgerFile = join(dir, 'restart.json');
    const a = new SandboxPsp({ latencyMs: 0, ledgerFile });
    const approved = await a.authorise(request('persisted'), card(APPROVE[1]!, 'mastercard'));
    await expect(a.authorise(request('in-doubt'), card(NO_ANSWER), { signal: AbortSignal.timeout(20) })).rejects.toBeInstanceOf(PspTimeoutError);

    const b = new SandboxPsp({ latencyMs: 0, ledgerFile });
    expect(await b.lookup('persisted')).toEqual(approved);
    expect(await b.lookup('in-doubt')).toMatchObject({ kind: 'approved' });
    expect(b.charges()).toEqual(a.charges());
    // Still idempotent after the restart: no second charge.
    expect(await b.authorise(request('persisted'), card(APPROVE[1]!, 'mastercard'))).toEqual(approved);
    expect(b.charges()).toHaveLength(2);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes no card number or security code to the file', async () => {
    const ledgerFile = join(dir, 'no-pan.json');
    const psp = new SandboxPsp({ latencyMs: 0, ledgerFile });
    const pans = [...APPROVE, ...DECLINE.map(([pan]) => pan), PROCESSING_ERROR, OTHER_VALID];
    for (const [i, pan] of pans.entries()) {
      await psp.authorise(request(`pan-${i}`), new CardData({ pan, expiry: '1230', securityCode: '987', brand: 'visa' }));
    }
    await expect(psp.authorise(request('pan-x'), card(NO_ANSWER), { signal: AbortSignal.timeout(10) })).rejects.toThrow();
    const bytes = readFileSync(ledgerFile);
    expect(psp.charges()).toHaveLength(pans.length + 1);
    for (const pan of [...pans, NO_ANSWER]) expect(bytes.includes(pan)).toBe(false);
    // The security code as a value (a byte search for "987" could hit a random sbx_ reference).
    const lines = bytes.toString('utf8').trim().split('\n');
    expect(lines.flatMap((line) => leaves(JSON.parse(line)))).not.toContain('987');
    expect(bytes.includes('"last4":"4242"')).toBe(true);
  });

  it('appends: charges made at once and a later refund are all there after a restart, the latest state of each', async () => {
    const ledgerFile = join(dir, 'append.jsonl');
    const a = new SandboxPsp({ latencyMs: 0, ledgerFile });
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => a.authorise(request(`many-${i}`), card(APPROVE[0]!))));
    const first = outcomes[0]!;
    if (first.kind !== 'approved') throw new Error('expected an approval');
    await a.reverse({ pspReference: first.pspReference, idempotencyKey: 'refund-1', kind: 'refund', amountMinor: 1000, currency: 'EUR' });
    expect(readFileSync(ledgerFile, 'utf8').trim().split('\n')).toHaveLength(21);

    const b = new SandboxPsp({ latencyMs: 0, ledgerFile });
    expect(b.charges()).toEqual(a.charges());
    expect(b.charges().find((c) => c.idempotencyKey === 'many-0')?.reversals).toHaveLength(1);
  });

  it('holds only the latest memoryCharges charges whole; older ones are answered from the file: replay, lookup, refund, stored card, all charges', async () => {
    const ledgerFile = join(dir, 'bounded.jsonl');
    const psp = new SandboxPsp({ latencyMs: 0, ledgerFile, memoryCharges: 3 });
    const stored = await psp.authorise(request('old-tok', { tokenise: { customerReference: 'c1' } }), card(APPROVE[0]!));
    const old = await psp.authorise(request('old-1'), card(APPROVE[1]!, 'mastercard'));
    const declined = await psp.authorise(request('old-2'), card(DECLINE[0]![0]));
    for (let i = 0; i < 5; i++) await psp.authorise(request(`new-${i}`), card(APPROVE[0]!));
    expect(psp.chargesInMemory).toBe(3);
    const lines = (): number => readFileSync(ledgerFile, 'utf8').trim().split('\n').length;
    expect(lines()).toBe(8);

    // A replayed key whose charge left memory: the recorded outcome, no second charge; another amount is still refused.
    expect(await psp.authorise(request('old-1'), card(APPROVE[1]!, 'mastercard'))).toEqual(old);
    expect(await psp.authorise(request('old-2'), card(DECLINE[0]![0]))).toEqual(declined);
    expect(await psp.authorise(request('old-1', { amountMinor: 1 }), card(APPROVE[1]!, 'mastercard'))).toEqual({ kind: 'error', code: 'idempotency-key-reuse', retryable: false });
    expect(lines()).toBe(8);
    expect(await psp.lookup('old-1')).toEqual(old);
    expect(await psp.lookup('never')).toEqual({ kind: 'not-found' });

    // A refund of a charge that left memory, and its stored card charged.
    if (old.kind !== 'approved' || stored.kind !== 'approved' || !stored.token) throw new Error('expected approvals');
    expect(await psp.reverse({ pspReference: old.pspReference, idempotencyKey: 'refund-old', kind: 'refund', amountMinor: 1000, currency: 'EUR' })).toMatchObject({ kind: 'succeeded' });
    expect(await psp.chargeStoredCard({ amountMinor: 990, currency: 'EUR', reference: 'SUB-1', idempotencyKey: 'mit-old', storedCard: stored.token })).toMatchObject({ kind: 'approved' });
    expect(await psp.reverse({ pspReference: 'sbx_unknown_reference', idempotencyKey: 'refund-none', kind: 'refund', amountMinor: 1, currency: 'EUR' })).toEqual({ kind: 'refused', code: 'payment-not-found' });
    expect(psp.chargesInMemory).toBe(3);

    // Every charge, oldest first, the refunded one in its latest state; a restart sees the same.
    const all = psp.charges();
    expect(all.map((c) => c.idempotencyKey)).toEqual(['old-tok', 'old-1', 'old-2', 'new-0', 'new-1', 'new-2', 'new-3', 'new-4', 'mit-old']);
    expect(all.find((c) => c.idempotencyKey === 'old-1')?.reversals).toHaveLength(1);
    const restarted = new SandboxPsp({ latencyMs: 0, ledgerFile, memoryCharges: 3 });
    expect(restarted.chargesInMemory).toBe(3);
    expect(restarted.charges()).toEqual(all);
    expect(await restarted.authorise(request('old-1'), card(APPROVE[1]!, 'mastercard'))).toEqual(old);
  });

  it('with a ledger file and no memoryCharges holds the latest 1 000 charges whole', async () => {
    const psp = new SandboxPsp({ latencyMs: 0, ledgerFile: join(dir, 'default-bound.jsonl') });
    for (let i = 0; i < 1_002; i++) await psp.authorise(request(`d-${i}`), card(APPROVE[0]!));
    expect(psp.chargesInMemory).toBe(1_000);
    expect(psp.charges()).toHaveLength(1_002);
    expect(await psp.lookup('d-0')).toMatchObject({ kind: 'approved' });
  });

  it('without a ledger file keeps every charge in memory, whatever memoryCharges says', async () => {
    const psp = new SandboxPsp({ latencyMs: 0, memoryCharges: 2 });
    for (let i = 0; i < 4; i++) await psp.authorise(request(`mem-${i}`), card(APPROVE[0]!));
    expect(psp.chargesInMemory).toBe(4);
    expect(psp.charges()).toHaveLength(4);
  });

  it('reads a ledger written in the earlier one-array format', async () => {
    const ledgerFile = join(dir, 'earlier.json');
    const a = new SandboxPsp({ latencyMs: 0 });
    await a.authorise(request('old'), card(APPROVE[0]!));
    writeFileSync(ledgerFile, JSON.stringify(a.charges(), null, 1));
    const b = new SandboxPsp({ latencyMs: 0, ledgerFile });
    expect(b.charges()).toEqual(a.charges());
    // Converted to JSON Lines, so the next charge appends to a readable file.
    await b.authorise(request('new'), card(APPROVE[0]!));
    expect(new SandboxPsp({ latencyMs: 0, ledgerFile }).charges().map((c) => c.idempotencyKey)).toEqual(['old', 'new']);
  });

  it('refuses a ledger file that is not a ledger, naming it', () => {
    const ledgerFile = join(dir, 'bad.json');
    writeFileSync(ledgerFile, JSON.stringify([{ idempotencyKey: 'k', amountMinor: 1 }]));
    expect(() => new SandboxPsp({ ledgerFile })).toThrow(SandboxLedgerError);
    expect(() => new SandboxPsp({ ledgerFile })).toThrow(ledgerFile);
    writeFileSync(ledgerFile, '{');
    expect(() => new SandboxPsp({ ledgerFile })).toThrow(SandboxLedgerError);
  });
});

function leaves(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(leaves);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(leaves);
  return [value];
}
