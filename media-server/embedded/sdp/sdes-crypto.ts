import { randomBytes } from 'node:crypto';
import { SRTP_CRYPTO_SUITES, type SrtpCryptoSuite } from '../rtp/srtp-context.js';

/**
 * One SDES `a=crypto` attribute (RFC 4568 §4): the tag that names it in the
 * offer and the answer, the crypto-suite, and the master key and salt its
 * sender protects its own media with.
 */
export interface SdesCrypto {
  /** 1–9 digits (§4.1). */
  readonly tag: number;
  readonly suite: SrtpCryptoSuite;
  /** 16 octets for the AES_CM_128 suites (§6.2). */
  readonly masterKey: Buffer;
  /** 14 octets (RFC 3711 §8.2: n_s = 112 bits). */
  readonly masterSalt: Buffer;
}

/** An `a=crypto` value that does not follow RFC 4568's grammar (§9.1). */
export class SdesCryptoError extends Error {
  override readonly name = 'SdesCryptoError';
}

/**
 * A well-formed `a=crypto` we do not support: another suite, an MKI, more
 * than one key, or a session parameter. RFC 4568 §6.3 / §7.1.1: the answerer
 * then tries the offer's next crypto attribute.
 */
export class UnsupportedSdesCryptoError extends Error {
  override readonly name = 'UnsupportedSdesCryptoError';
}

const MASTER_KEY_BYTES = 16;
const MASTER_SALT_BYTES = 14;
/** base64 of key||salt: 30 octets are exactly 40 characters, no padding. */
const INLINE_KEY = /^[A-Za-z0-9+/]{40}$/;
/** §6.1 lifetime: a decimal number or 2^n. */
const LIFETIME = /^(?:\d+|2\^\d+)$/;
/** §6.1 MKI: value ":" length (1–128 octets). */
const MKI = /^\d+:\d{1,3}$/;

const isSuite = (suite: string): suite is SrtpCryptoSuite => (SRTP_CRYPTO_SUITES as readonly string[]).includes(suite);

/**
 * Reads the value of an `a=crypto` line (what follows `a=crypto:`):
 * `tag SP suite SP key-params [SP session-params]` (§9.1), with one
 * `inline:<key||salt>[|lifetime][|mki:length]` key parameter. The lifetime
 * is accepted and ignored (a call is far shorter than 2^31 packets). Throws
 * `SdesCryptoError` for a malformed value, `UnsupportedSdesCryptoError` for
 * one this stack cannot use.
 */
export function parseSdesCrypto(value: string): SdesCrypto {
  const [tagText, suite, keyParams, ...sessionParams] = value.trim().split(/[ \t]+/);
  if (tagText === undefined || !/^\d{1,9}$/.test(tagText)) throw new SdesCryptoError('the crypto tag must be 1 to 9 digits');
  if (suite === undefined || keyParams === undefined) throw new SdesCryptoError('a crypto attribute needs a suite and key parameters');
  if (!isSuite(suite)) throw new UnsupportedSdesCryptoError(`crypto-suite ${suite} is not supported`);
  // §6.3: session parameters change how SRTP runs (KDR, UNENCRYPTED_SRTP, FEC…); we run none of them.
  if (sessionParams.length > 0) throw new UnsupportedSdesCryptoError(`session parameter ${sessionParams[0]?.split('=')[0]} is not supported`);
  const keys = keyParams.split(';');
  // §6.1: several keys need an MKI to tell them apart.
  if (keys.length > 1) throw new UnsupportedSdesCryptoError('more than one master key is not supported');
  const [method, rest] = splitOnce(keys[0] as string, ':');
  if (method !== 'inline' || rest === undefined) throw new SdesCryptoError('the key method must be inline');
  const [inline, ...options] = rest.split('|');
  if (!INLINE_KEY.test(inline as string)) throw new SdesCryptoError('the inline key must be 30 octets of base64 (key||salt)');
  if (options.length > 2) throw new SdesCryptoError('too many key parameters');
  for (const [i, option] of options.entries()) {
    if (MKI.test(option)) throw new UnsupportedSdesCryptoError('an MKI is not supported');
    if (i > 0 || !LIFETIME.test(option)) throw new SdesCryptoError('a key lifetime must be a number or 2^n');
  }
  const keySalt = Buffer.from(inline as string, 'base64');
  return {
    tag: Number(tagText),
    suite,
    masterKey: keySalt.subarray(0, MASTER_KEY_BYTES),
    masterSalt: keySalt.subarray(MASTER_KEY_BYTES),
  };
}

/** The value of our `a=crypto` line: `tag suite inline:<key||salt>`, no lifetime, no MKI. */
export function writeSdesCrypto(crypto: SdesCrypto): string {
  if (crypto.masterKey.length !== MASTER_KEY_BYTES || crypto.masterSalt.length !== MASTER_SALT_BYTES) {
    throw new RangeError('an AES_CM_128 master key is 16 octets and its salt 14');
  }
  return `${crypto.tag} ${crypto.suite} inline:${Buffer.concat([crypto.masterKey, crypto.masterSalt]).toString('base64')}`;
}

/** A fresh master key and salt from the CSPRNG (RFC 4568 §6.1, RFC 3711 §8.2). */
export function newSdesCrypto(tag: number, suite: SrtpCryptoSuite): SdesCrypto {
  const keySalt = randomBytes(MASTER_KEY_BYTES + MASTER_SALT_BYTES);
  return { tag, suite, masterKey: keySalt.subarray(0, MASTER_KEY_BYTES), masterSalt: keySalt.subarray(MASTER_KEY_BYTES) };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
