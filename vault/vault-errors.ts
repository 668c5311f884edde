/** The reference names no live entry: never issued, already redeemed, discarded or expired. */
export class VaultEntryNotFoundError extends Error {
  override readonly name = 'VaultEntryNotFoundError';
  constructor(readonly ref: string) {
    super(`vault entry ${ref} does not exist (redeemed, expired or never issued)`);
  }
}

/** The entry cannot be redeemed yet: a field is missing or invalid. */
export class VaultEntryIncompleteError extends Error {
  override readonly name = 'VaultEntryIncompleteError';
  constructor(
    readonly ref: string,
    readonly field: string,
  ) {
    super(`vault entry ${ref} has no valid ${field}`);
  }
}
