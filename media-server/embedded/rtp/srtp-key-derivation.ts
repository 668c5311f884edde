import { createCipheriv } from 'node:crypto';

/** RFC 3711 §4.3.2: the labels of the SRTP session keys (SRTCP's are 3–5). */
export const SrtpKeyLabel = { ENCRYPTION: 0x00, AUTHENTICATION: 0x01, SALT: 0x02 } as const;

/** AES_CM_128: a 128-bit master key and a 112-bit master salt (RFC 3711 §8.2, RFC 4568 §6.2.1). */
export const MASTER_KEY_BYTES = 16;
export const MASTER_SALT_BYTES = 14;

export interface SrtpSessionKeys {
  /** k_e, 128 bits. */
  readonly encryption: Buffer;
  /** k_a, 160 bits (HMAC-SHA1). */
  readonly authentication: Buffer;
  /** k_s, 112 bits. */
  readonly salt: Buffer;
}

/**
 * One session key (RFC 3711 §4.3.1) with a key derivation rate of 0, which
 * SDES uses unless it says otherwise (RFC 4568 §6.2.1): r = 0, so
 * x = (label || r) XOR master_salt, and the key is the AES-CM keystream of
 * the master key from IV = x · 2^16.
 */
export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  if (masterKey.length !== MASTER_KEY_BYTES || masterSalt.length !== MASTER_SALT_BYTES) {
    throw new RangeError(`AES_CM_128 needs a ${MASTER_KEY_BYTES}-byte master key and a ${MASTER_SALT_BYTES}-byte master salt`);
  }
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0);
  // key_id = label (8 bits) || r (48 bits, 0): its label octet lands 7 octets from the salt's end.
  iv[MASTER_SALT_BYTES - 7] = (iv[MASTER_SALT_BYTES - 7] as number) ^ label;
  return createCipheriv('aes-128-ctr', masterKey, iv).update(Buffer.alloc(length));
}

/** The three SRTP session keys of a master key and salt (RFC 3711 §4.3.2). */
export function deriveSrtpSessionKeys(masterKey: Buffer, masterSalt: Buffer): SrtpSessionKeys {
  return {
    encryption: deriveSessionKey(masterKey, masterSalt, SrtpKeyLabel.ENCRYPTION, 16),
    authentication: deriveSessionKey(masterKey, masterSalt, SrtpKeyLabel.AUTHENTICATION, 20),
    salt: deriveSessionKey(masterKey, masterSalt, SrtpKeyLabel.SALT, 14),
  };
}
