import { describe, expect, it } from 'vitest';
import {
  newSdesCrypto,
  parseSdesCrypto,
  SdesCryptoError,
  UnsupportedSdesCryptoError,
  writeSdesCrypto,
} from '../../../media-server/embedded/sdp/sdes-crypto.js';

// RFC 4568 §5.1's offer and answer keys. The RFC writes them with an MKI (|1:32), which we refuse; the
// same keys are read below without it. The RFC's authors chose printable ASCII key octets, so the
// expected key and salt are written as the text they spell.
const RFC_OFFER_KEY = 'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR';
const RFC_ANSWER_KEY = 'd0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj';

describe('SDES a=crypto (RFC 4568)', () => {
  it("reads the §5.1 offer's key with its lifetime: tag, suite, 16-octet key and 14-octet salt", () => {
    const crypto = parseSdesCrypto(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY}|2^20`);
    expect(crypto.tag).toBe(1);
    expect(crypto.suite).toBe('AES_CM_128_HMAC_SHA1_80');
    expect(crypto.masterKey.toString('latin1')).toBe('=-n@%^x!Bjufr9)?');
    expect(crypto.masterSalt.toString('latin1')).toBe(',#5h\\`=&]{qiPQ');
  });

  it("reads the §5.1 answer's key, a decimal lifetime and the _32 suite", () => {
    const crypto = parseSdesCrypto(`12 AES_CM_128_HMAC_SHA1_32 inline:${RFC_ANSWER_KEY}|1048576`);
    expect(crypto).toMatchObject({ tag: 12, suite: 'AES_CM_128_HMAC_SHA1_32' });
    expect(crypto.masterKey.toString('latin1')).toBe('wDfvg&T+)xG7@fb5');
    expect(crypto.masterSalt.toString('latin1')).toBe('jU,RaA}\\|p0%*#');
  });

  it('reads a key with no lifetime, as Asterisk, FreeSWITCH and baresip write it', () => {
    expect(parseSdesCrypto(`3 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY}`).tag).toBe(3);
  });

  it('refuses the RFC examples as written: they carry an MKI (§6.1), which this stack does not support', () => {
    expect(() => parseSdesCrypto(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY}|2^20|1:32`)).toThrow(UnsupportedSdesCryptoError);
    expect(() => parseSdesCrypto(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_ANSWER_KEY}|1:4`)).toThrow(UnsupportedSdesCryptoError);
  });

  it("refuses §5.1's second offer line: F8 suite, two keys and FEC_ORDER", () => {
    const f8 = '2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 FEC_ORDER=FEC_SRTP';
    expect(() => parseSdesCrypto(f8)).toThrow(UnsupportedSdesCryptoError);
    expect(() => parseSdesCrypto(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY} UNENCRYPTED_SRTP`)).toThrow(UnsupportedSdesCryptoError);
    expect(() => parseSdesCrypto(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY};inline:${RFC_ANSWER_KEY}`)).toThrow(UnsupportedSdesCryptoError);
    expect(() => parseSdesCrypto(`1 AES_256_CM_HMAC_SHA1_80 inline:${RFC_OFFER_KEY}`)).toThrow(UnsupportedSdesCryptoError);
  });

  it.each([
    ['no tag', `AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY}`],
    ['a 10-digit tag', `1234567890 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY}`],
    ['no key', '1 AES_CM_128_HMAC_SHA1_80'],
    ['another key method', `1 AES_CM_128_HMAC_SHA1_80 uri:${RFC_OFFER_KEY}`],
    ['a short key', '1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtx'],
    ['a key with padding', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY.slice(0, 38)}==`],
    ['a key that is not base64', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY.slice(0, 39)}!`],
    ['a bad lifetime', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY}|2^x`],
    ['two lifetimes', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY}|2^20|2^20`],
  ])('refuses %s as malformed', (_name, value) => {
    expect(() => parseSdesCrypto(value)).toThrow(SdesCryptoError);
  });

  it('writes tag, suite and inline key||salt, and reads back what it wrote', () => {
    const ours = newSdesCrypto(2, 'AES_CM_128_HMAC_SHA1_32');
    const value = writeSdesCrypto(ours);
    expect(value).toMatch(/^2 AES_CM_128_HMAC_SHA1_32 inline:[A-Za-z0-9+/]{40}$/);
    const back = parseSdesCrypto(value);
    expect(back).toMatchObject({ tag: 2, suite: 'AES_CM_128_HMAC_SHA1_32' });
    expect(back.masterKey.equals(ours.masterKey)).toBe(true);
    expect(back.masterSalt.equals(ours.masterSalt)).toBe(true);
    expect(writeSdesCrypto(parseSdesCrypto(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY}|2^20`))).toBe(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_OFFER_KEY}`);
  });

  it('makes a fresh key each time', () => {
    const a = newSdesCrypto(1, 'AES_CM_128_HMAC_SHA1_80');
    const b = newSdesCrypto(1, 'AES_CM_128_HMAC_SHA1_80');
    expect(a.masterKey.equals(b.masterKey)).toBe(false);
    expect(a.masterSalt.length).toBe(14);
  });
});
