import type { CardField } from '../ivr/domain/payment-types.js';
import type { CardSummary, CardVault, FieldProgress, FieldVerdict, VaultRef } from './card-vault.js';

/**
 * The payment flow's view of the one vault entry it fills. Digits pass
 * through to the vault as they arrive; the flow keeps only counts, verdicts
 * and the summary.
 */
export interface CardEntry {
  appendDigit(field: CardField, digit: string): FieldProgress;
  clearField(field: CardField): void;
  verify(field: CardField, now: Date): FieldVerdict;
  summary(): CardSummary;
}

/** Binds one vault entry to the CardEntry the payment flow fills. */
export function vaultCardEntry(vault: CardVault, ref: VaultRef): CardEntry {
  return {
    appendDigit: (field, digit) => vault.appendDigit(ref, field, digit),
    clearField: (field) => vault.clearField(ref, field),
    verify: (field, now) => vault.verify(ref, field, now),
    summary: () => vault.summary(ref),
  };
}
