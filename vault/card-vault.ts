import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { detectBrand, type CardBrand } from '../domain/card-brand.js';
import {
  checkExpiry,
  checkPan,
  checkSecurityCode,
  EXPIRY_LENGTH,
  PAN_MAX_LENGTH,
  PAN_MIN_LENGTH,
  panComplete,
  securityCodeLength,
} from '../domain/card-rules.js';
import type { CaptureErrorType, CardField } from '../domain/payment-types.js';
import type { CardSummary, FieldProgress, FieldVerdict } from '../domain/card-capture.js';
import { CardData } from './card-data.js';
import { VaultEntryIncompleteError, VaultEntryNotFoundError } from './vault-errors.js';

/** An opaque handle on a vault entry; it says nothing about the card. */
export type VaultRef = string & { readonly __vaultRef: unique symbol };

export interface CardVaultOptions {
  /** AES-256 key (32 bytes). Default: a random key per process, so nothing survives a restart. */
  readonly key?: Buffer;
  /** Entries are wiped this long after they were opened. Default 10 minutes. */
  readonly ttlMs?: number;
  /** Brands the merchant accepts; a PAN of another brand is `invalid-card-type`. */
  readonly acceptedBrands: ReadonlySet<CardBrand>;
  /** Default Date.now. */
  readonly clock?: () => number;
}

interface SealedField {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

const DEFAULT_TTL_MS = 10 * 60_000;
const MAX_FIELD_LENGTH: Record<CardField, number> = {
  'card-number': PAN_MAX_LENGTH,
  expiry: EXPIRY_LENGTH,
  'security-code': 4,
};

/** One card being keyed. Its fields are sealed; printing it shows nothing. */
class VaultEntry {
  readonly fields = new Map<CardField, SealedField>();
  constructor(
    readonly ref: VaultRef,
    readonly expiresAt: number,
  ) {}

  toJSON(): { ref: string; fields: string } {
    return { ref: this.ref, fields: '[sealed]' };
  }

  [inspect.custom](): string {
    return `VaultEntry(${this.ref} [sealed])`;
  }
}

/**
 * The only place a PAN, expiry or security code exists (ARCHITECTURE.md
 * "Rules that hold everywhere"). Digits go in one at a time and are kept sealed with AES-256-GCM,
 * bound to their entry and field by the additional authenticated data; clear
 * text exists only transiently inside one method call and its buffers are
 * zeroed before the call returns (PCI DSS 4.0 req. 3.5). Nothing is written to
 * disk. Callers hold a `VaultRef` and learn only brand, last four, lengths and
 * validity.
 */
export class CardVault {
  readonly #key: Buffer;
  readonly #ttlMs: number;
  readonly #accepted: ReadonlySet<CardBrand>;
  readonly #clock: () => number;
  readonly #entries = new Map<VaultRef, VaultEntry>();

  constructor(options: CardVaultOptions) {
    if (options.key && options.key.length !== 32) throw new RangeError('vault key must be 32 bytes');
    this.#key = options.key ? Buffer.from(options.key) : randomBytes(32);
    this.#ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.#accepted = options.acceptedBrands;
    this.#clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A new empty entry. */
  open(): VaultRef {
    const ref = `vault_${randomBytes(16).toString('hex')}` as VaultRef;
    this.#entries.set(ref, new VaultEntry(ref, this.#clock() + this.#ttlMs));
    return ref;
  }

  /** Adds one digit (0–9) to a field. Digits past the field's maximum length are ignored. */
  appendDigit(ref: VaultRef, field: CardField, digit: string): FieldProgress {
    if (!/^[0-9]$/.test(digit)) throw new RangeError('only the digits 0-9 can be stored');
    const entry = this.#live(ref);
    const current = this.#unseal(entry, field);
    try {
      if (current.length < MAX_FIELD_LENGTH[field]) {
        const next = Buffer.alloc(current.length + 1);
        current.copy(next);
        next[current.length] = digit.charCodeAt(0);
        entry.fields.set(field, this.#seal(ref, field, next));
        next.fill(0);
      }
      return this.#progress(entry, field);
    } finally {
      current.fill(0);
    }
  }

  /** Empties a field (`*` restart, re-capture). */
  clearField(ref: VaultRef, field: CardField): void {
    const entry = this.#live(ref);
    wipe(entry.fields.get(field));
    entry.fields.delete(field);
  }

  progress(ref: VaultRef, field: CardField): FieldProgress {
    return this.#progress(this.#live(ref), field);
  }

  /** Whether the field as keyed would be accepted; `now` dates the expiry check. */
  verify(ref: VaultRef, field: CardField, now: Date): FieldVerdict {
    const entry = this.#live(ref);
    return this.#withClear(entry, field, (value) => {
      switch (field) {
        case 'card-number': {
          const verdict = checkPan(value, this.#accepted);
          return verdict.ok ? { ok: true } : { ok: false, error: verdict.error };
        }
        case 'expiry':
          return checkExpiry(value, now).ok ? { ok: true } : { ok: false, error: 'invalid-date' };
        case 'security-code':
          return checkSecurityCode(value, this.#brandOf(entry))
            ? { ok: true }
            : { ok: false, error: 'invalid-security-code' };
      }
    });
  }

  summary(ref: VaultRef): CardSummary {
    const entry = this.#live(ref);
    return this.#withClear(entry, 'card-number', (pan) => ({
      brand: detectBrand(pan) ?? null,
      last4: pan.length >= PAN_MIN_LENGTH ? pan.slice(-4) : null,
      lengths: {
        'card-number': pan.length,
        expiry: this.#lengthOf(entry, 'expiry'),
        'security-code': this.#lengthOf(entry, 'security-code'),
      },
    }));
  }

  /**
   * Hands the card to `consumer` (a PSP adapter's authorisation) exactly once.
   * The entry is removed before the consumer runs, so a second redeem fails
   * even while the first is in flight.
   */
  async redeem<T>(ref: VaultRef, now: Date, consumer: (card: CardData) => Promise<T>): Promise<T> {
    const entry = this.#live(ref);
    for (const field of ['card-number', 'expiry', 'security-code'] as const) {
      if (!this.verify(ref, field, now).ok) throw new VaultEntryIncompleteError(ref, field);
    }
    const card = new CardData({
      pan: this.#withClear(entry, 'card-number', (v) => v),
      expiry: this.#withClear(entry, 'expiry', (v) => v),
      securityCode: this.#withClear(entry, 'security-code', (v) => v),
      brand: this.#brandOf(entry) as CardBrand,
    });
    this.discard(ref);
    return consumer(card);
  }

  /** Wipes an entry; unknown references are ignored so callers can discard on every exit path. */
  discard(ref: VaultRef): void {
    const entry = this.#entries.get(ref);
    if (!entry) return;
    for (const sealed of entry.fields.values()) wipe(sealed);
    entry.fields.clear();
    this.#entries.delete(ref);
  }

  /** Wipes every entry past its time; returns how many. The runtime calls this periodically. */
  sweep(): number {
    const now = this.#clock();
    let wiped = 0;
    for (const [ref, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.discard(ref);
        wiped++;
      }
    }
    return wiped;
  }

  /** Wipes everything and forgets the key. */
  close(): void {
    for (const ref of [...this.#entries.keys()]) this.discard(ref);
    this.#key.fill(0);
  }

  toJSON(): { entries: number } {
    return { entries: this.#entries.size };
  }

  [inspect.custom](): string {
    return `CardVault(${this.#entries.size} sealed entries)`;
  }

  #live(ref: VaultRef): VaultEntry {
    const entry = this.#entries.get(ref);
    if (!entry) throw new VaultEntryNotFoundError(ref);
    if (entry.expiresAt <= this.#clock()) {
      this.discard(ref);
      throw new VaultEntryNotFoundError(ref);
    }
    return entry;
  }

  #progress(entry: VaultEntry, field: CardField): FieldProgress {
    return this.#withClear(entry, field, (value) => {
      let complete: boolean;
      if (field === 'card-number') complete = panComplete(value);
      else if (field === 'expiry') complete = value.length >= EXPIRY_LENGTH;
      else complete = value.length >= securityCodeLength(this.#brandOf(entry));
      return { length: value.length, complete };
    });
  }

  #brandOf(entry: VaultEntry): CardBrand | undefined {
    return this.#withClear(entry, 'card-number', (pan) => detectBrand(pan));
  }

  #lengthOf(entry: VaultEntry, field: CardField): number {
    const sealed = entry.fields.get(field);
    return sealed ? sealed.ciphertext.length : 0;
  }

  /** Runs `use` on the field's clear text; the buffer is zeroed afterwards. */
  #withClear<T>(entry: VaultEntry, field: CardField, use: (value: string) => T): T {
    const clear = this.#unseal(entry, field);
    try {
      return use(clear.toString('latin1'));
    } finally {
      clear.fill(0);
    }
  }

  #seal(ref: VaultRef, field: CardField, clear: Buffer): SealedField {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(`${ref}/${field}`));
    const ciphertext = Buffer.concat([cipher.update(clear), cipher.final()]);
    return { iv, ciphertext, tag: cipher.getAuthTag() };
  }

  #unseal(entry: VaultEntry, field: CardField): Buffer {
    const sealed = entry.fields.get(field);
    if (!sealed) return Buffer.alloc(0);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.iv);
    decipher.setAAD(Buffer.from(`${entry.ref}/${field}`));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  }
}

function wipe(sealed: SealedField | undefined): void {
  if (!sealed) return;
  sealed.ciphertext.fill(0);
  sealed.iv.fill(0);
  sealed.tag.fill(0);
}
