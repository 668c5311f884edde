import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CardVault, type VaultRef } from '../../../vault/card-vault.js';
import { CardData } from '../../../vault/card-data.js';
import { VaultEntryIncompleteError, VaultEntryNotFoundError } from '../../../vault/vault-errors.js';
import { createLogger } from '../../../app/logger.js';

// Public test card numbers (Stripe's documented test cards).
const VISA = '4242424242424242';
const AMEX = '378282246310005';
const NOW = new Date('2026-11-22T10:00:00Z');

function vaultWith(clock?: () => number): CardVault {
  return new CardVault({ acceptedBrands: new Set(['visa', 'mastercard', 'amex']), ...(clock ? { clock } : {}) });
}

function key(vault: CardVault, ref: VaultRef, pan: string, expiry = '1230', code = '123'): void {
  for (const d of pan) vault.appendDigit(ref, 'card-number', d);
  for (const d of expiry) vault.appendDigit(ref, 'expiry', d);
  for (const d of code) vault.appendDigit(ref, 'security-code', d);
}

describe('CardVault', () => {
  it('takes digits one at a time and tells only brand, last four, lengths and validity', () => {
    const vault = vaultWith();
    const ref = vault.open();
    expect(vault.appendDigit(ref, 'card-number', '4')).toEqual({ length: 1, complete: false });
    for (const d of VISA.slice(1, 15)) vault.appendDigit(ref, 'card-number', d);
    expect(vault.summary(ref)).toEqual({ brand: 'visa', last4: '2424', lengths: { 'card-number': 15, expiry: 0, 'security-code': 0 } });
    expect(vault.appendDigit(ref, 'card-number', '2')).toEqual({ length: 16, complete: true });
    expect(vault.verify(ref, 'card-number', NOW)).toEqual({ ok: true });
    expect(vault.verify(ref, 'expiry', NOW)).toEqual({ ok: false, error: 'invalid-date' });
    key(vault, ref, '', '1230', '12');
    expect(vault.progress(ref, 'security-code')).toEqual({ length: 2, complete: false });
    expect(vault.verify(ref, 'security-code', NOW)).toEqual({ ok: false, error: 'invalid-security-code' });
    vault.clearField(ref, 'security-code');
    expect(vault.summary(ref).lengths['security-code']).toBe(0);
  });

  it('completes the security code at 4 digits on Amex and ignores digits past a field maximum', () => {
    const vault = vaultWith();
    const ref = vault.open();
    key(vault, ref, AMEX, '12301', '123');
    expect(vault.progress(ref, 'expiry')).toEqual({ length: 4, complete: true });
    expect(vault.progress(ref, 'security-code')).toEqual({ length: 3, complete: false });
    expect(vault.appendDigit(ref, 'security-code', '4')).toEqual({ length: 4, complete: true });
  });

  it('refuses anything but a digit', () => {
    const vault = vaultWith();
    const ref = vault.open();
    expect(() => vault.appendDigit(ref, 'card-number', '#')).toThrow(RangeError);
    expect(() => vault.appendDigit(ref, 'card-number', '42')).toThrow(RangeError);
  });

  it('redeems exactly once, then the entry is gone', async () => {
    const vault = vaultWith();
    const ref = vault.open();
    key(vault, ref, VISA);
    const seen = await vault.redeem(ref, NOW, async (card) => {
      expect(card.reveal()).toEqual({ pan: VISA, expiryMonth: '12', expiryYear: '2030', securityCode: '123' });
      expect(card.brand).toBe('visa');
      // Gone as soon as it is handed over, even while the PSP call runs.
      expect(vault.size).toBe(0);
      return card.last4;
    });
    expect(seen).toBe('4242');
    await expect(vault.redeem(ref, NOW, async () => 'again')).rejects.toBeInstanceOf(VaultEntryNotFoundError);
    expect(() => vault.summary(ref)).toThrow(VaultEntryNotFoundError);
  });

  it('will not redeem an incomplete or invalid card, and says which field without its digits', async () => {
    const vault = vaultWith();
    const ref = vault.open();
    key(vault, ref, VISA, '1020');
    const err = await vault.redeem(ref, NOW, async () => 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultEntryIncompleteError);
    expect((err as VaultEntryIncompleteError).field).toBe('expiry');
    expect(String((err as Error).message)).not.toMatch(/1020|4242/);
  });

  it('wipes entries when they expire', () => {
    let t = 1_000_000;
    const vault = new CardVault({ acceptedBrands: new Set(['visa']), ttlMs: 60_000, clock: () => t });
    const a = vault.open();
    key(vault, a, VISA);
    t += 30_000;
    const b = vault.open();
    t += 30_000;
    expect(() => vault.summary(a)).toThrow(VaultEntryNotFoundError);
    expect(vault.size).toBe(1);
    t += 30_000;
    expect(vault.sweep()).toBe(1);
    expect(vault.size).toBe(0);
    expect(() => vault.progress(b, 'expiry')).toThrow(VaultEntryNotFoundError);
  });

  it('discard is safe on any reference', () => {
    const vault = vaultWith();
    const ref = vault.open();
    vault.discard(ref);
    vault.discard(ref);
    expect(vault.size).toBe(0);
  });

  it('shows no card data through JSON, util.inspect or a logger', async () => {
    const vault = vaultWith();
    const ref = vault.open();
    key(vault, ref, VISA);
    const lines: string[] = [];
    const logger = createLogger({ destination: { write: (l: string) => void lines.push(l) } });
    let card: CardData | undefined;
    const views = [JSON.stringify(vault), inspect(vault, { showHidden: true, depth: Infinity }), String(vault)];
    logger.info({ vault }, 'vault');
    await vault.redeem(ref, NOW, async (c) => {
      card = c;
    });
    views.push(JSON.stringify(card), inspect(card, { showHidden: true, depth: Infinity }), String(card), `${card}`);
    logger.info({ payment: { card }, c: card }, 'card');
    logger.info(`card ${String(card)}`);
    const all = views.join('\n') + lines.join('');
    expect(all).not.toContain(VISA);
    expect(all).not.toContain('1230');
    expect(all).toContain('4242');
    expect(lines).toHaveLength(3);
  });

  it('rejects a key that is not 32 bytes', () => {
    expect(() => new CardVault({ acceptedBrands: new Set(['visa']), key: Buffer.alloc(16) })).toThrow(RangeError);
  });
});
