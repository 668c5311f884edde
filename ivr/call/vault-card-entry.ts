import type { CardVault, VaultRef } from '../../vault/card-vault.js';
import type { CardEntry } from '../flow/card-entry.js';

/** Binds one vault entry to the CardEntry the payment flow fills. */
export function vaultCardEntry(vault: CardVault, ref: VaultRef): CardEntry {
  return {
    appendDigit: (field, digit) => vault.appendDigit(ref, field, digit),
    clearField: (field) => vault.clearField(ref, field),
    verify: (field, now) => vault.verify(ref, field, now),
    summary: () => vault.summary(ref),
  };
}
