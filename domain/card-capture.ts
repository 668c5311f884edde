import type { CardBrand } from './card-brand.js';
import type { CaptureErrorType, CardField } from './payment-types.js';

/*
 * What the vault tells the payment flow as the caller keys a card: counts,
 * verdicts and the masked summary, never a digit (PCI DSS 4.0 req. 3.4.1:
 * the last four at most).
 */

/** What a digit did to its field: how many digits it holds, and whether it is whole. */
export interface FieldProgress {
  readonly length: number;
  /** The field has reached its known length and ends without `#`. */
  readonly complete: boolean;
}

export type FieldVerdict = { readonly ok: true } | { readonly ok: false; readonly error: CaptureErrorType };

/** Everything anyone outside the vault may know about a card (ARCHITECTURE.md "Masked progress events"). */
export interface CardSummary {
  readonly brand: CardBrand | null;
  /** Only once the PAN has at least PAN_MIN_LENGTH digits. */
  readonly last4: string | null;
  readonly lengths: Readonly<Record<CardField, number>>;
}
