import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Authoriser } from '../../../psp/authoriser.js';
import { PaymentReversals } from '../../../psp/payment-reversals.js';
import type { PaymentServiceProvider } from '../../../psp/psp-port.js';
import { Reconciler } from '../../../psp/reconciler.js';
import type { PaymentSessionRecord } from '../../../store/payment-store.js';
import type { StoredTokenRecord } from '../../../store/psp-record-store.js';
import { SqliteAuditLog } from '../../../store/sqlite-audit-log.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { SqlitePspRecordStore } from '../../../store/sqlite-psp-record-store.js';
import { CardData } from '../../../vault/card-data.js';

export const CALL = { kind: 'call', id: 'call-1' } as const;
export const SUPERVISOR = { kind: 'supervisor', id: 'sue' } as const;

/** A card as the vault hands it over (public test numbers only). */
export function card(pan: string, brand: 'visa' | 'mastercard' | 'amex' = 'visa'): CardData {
  return new CardData({ pan, expiry: '1230', securityCode: brand === 'amex' ? '1234' : '123', brand });
}

/** A real store in a temp folder, with the authoriser, reconciler and reversals around one PSP adapter. */
export class PspHarness {
  readonly dir = mkdtempSync(join(tmpdir(), 'psp-adapter-'));
  readonly store = new SqlitePaymentStore({ dataDir: this.dir });
  readonly records = new SqlitePspRecordStore(this.store.database);
  readonly audit = new SqliteAuditLog(this.store.database, { key: randomBytes(32) });
  psp!: PaymentServiceProvider;

  use(psp: PaymentServiceProvider): this {
    this.psp = psp;
    return this;
  }

  authoriser(options: { timeoutMs?: number; maxRetries?: number } = {}): Authoriser {
    return new Authoriser({ psp: this.psp, store: this.store, audit: this.audit, records: this.records, retryBaseDelayMs: 5, timeoutMs: 5000, ...options });
  }

  reconciler(): Reconciler {
    return new Reconciler({ psp: this.psp, store: this.store, audit: this.audit, records: this.records, lookupTimeoutMs: 2000 });
  }

  reversals(options: { capture?: 'auto' | 'manual' } = {}): PaymentReversals {
    return new PaymentReversals({ psp: this.psp, store: this.store, audit: this.audit, records: this.records, timeoutMs: 3000, ...options });
  }

  /** A direct-pay session whose card is captured, ready to authorise. */
  async session(amountMinor = 4250, extra: { tokenise?: boolean; customerReference?: string } = {}): Promise<PaymentSessionRecord> {
    const s = await this.store.createSession({ mode: 'direct', reference: 'INV-1001', amountMinor, currency: 'EUR', callId: 'call-1', ...extra });
    return this.store.updateSession(s.id, { status: 'capturing' });
  }

  /** A merchant-initiated charge on a stored card, as POST /tokens/{token}/charges makes it. */
  storedCardCharge(token: StoredTokenRecord, amountMinor = 1200): Promise<PaymentSessionRecord> {
    return this.store.createSession({
      mode: 'merchant-initiated',
      reference: 'INV-MIT',
      amountMinor,
      currency: 'EUR',
      idempotencyKey: `mit-${randomBytes(6).toString('hex')}`,
      storedCardToken: token.token,
      customerReference: token.customer,
    });
  }

  async close(): Promise<void> {
    await this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
