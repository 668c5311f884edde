import type { CardSummary, FieldProgress, FieldVerdict } from '../../domain/card-capture.js';
import type { CardField } from '../../domain/payment-types.js';

/**
 * The payment flow's view of the one vault entry it fills. Digits pass
 * through to the vault as they arrive; the flow keeps only counts, verdicts
 * and the summary. The call binds it to the vault (ivr/call/vault-card-entry.ts),
 * unit tests to an in-memory vault, so the pure flow never imports the vault.
 */
export interface CardEntry {
  appendDigit(field: CardField, digit: string): FieldProgress;
  clearField(field: CardField): void;
  verify(field: CardField, now: Date): FieldVerdict;
  summary(): CardSummary;
}
