import { randomBytes } from 'node:crypto';

/** Random bytes in an id: 96 bits, so ids never collide in practice. */
const ID_BYTES = 12;

/**
 * An id such as `leg_3f9c…` (24 lowercase hex digits after the prefix).
 *
 * Ids reach the database, logs and recording sidecars, which the PAN audit
 * scans for Luhn-valid 12–19 digit runs. A short random id (16 hex digits, a
 * UUID's last 12) is all digits often enough that one in ten of those runs
 * "is" a card number. The audit treats a digit run inside a hex token of 20
 * or more digits as part of that token, so an id of this form can never be
 * taken for a card number, whatever its bytes.
 */
export function newOpaqueId(prefix: string): string {
  return formatOpaqueId(prefix, randomBytes(ID_BYTES));
}

export function formatOpaqueId(prefix: string, bytes: Uint8Array): string {
  if (bytes.length < ID_BYTES) throw new RangeError(`an opaque id needs ${ID_BYTES} bytes`);
  return `${prefix}_${Buffer.from(bytes).toString('hex')}`;
}
