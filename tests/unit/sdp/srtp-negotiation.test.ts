import { describe, expect, it } from 'vitest';
import { parseSdesCrypto } from '../../../media-server/embedded/sdp/sdes-crypto.js';
import {
  answerOffer,
  createOffer,
  describeAudio,
  offerCrypto,
  readAnswer,
  SdpError,
  SrtpRefusedError,
  type SrtpAnswerOptions,
} from '../../../media-server/embedded/sdp/sdp-negotiator.js';

const LOCAL = { address: '127.0.0.1', port: 20000, sessionId: 1, sessionVersion: 1 };
// RFC 4568 §5.1's offer key, without its MKI (sdes-crypto.test.ts).
const PEER_KEY = 'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR';

function offer(profile: 'RTP/AVP' | 'RTP/SAVP', crypto: readonly string[] = []): string {
  return [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio 6000 ${profile} 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    ...crypto.map((c) => `a=crypto:${c}`),
    '',
  ].join('\r\n');
}

const SAVP_OFFER = offer('RTP/SAVP', [`5 AES_CM_256_HMAC_SHA1_80 inline:${PEER_KEY}${PEER_KEY}`, `7 AES_CM_128_HMAC_SHA1_32 inline:${PEER_KEY}|2^31`]);
const tls = (policy: SrtpAnswerOptions['policy']): SrtpAnswerOptions => ({ policy, overTls: true });
const udp = (policy: SrtpAnswerOptions['policy']): SrtpAnswerOptions => ({ policy, overTls: false });
const refusal = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SrtpRefusedError);
    return (err as SrtpRefusedError).reason;
  }
  return undefined;
};

describe('SDP negotiation with SDES (RFC 4568 §7)', () => {
  it('answers an RTP/SAVP offer over TLS with RTP/SAVP: the first supported line, its tag and suite, our own fresh key', () => {
    for (const policy of ['optional', 'mandatory'] as const) {
      const { sdp, negotiated, srtpDeclined } = answerOffer(SAVP_OFFER, LOCAL, tls(policy));
      expect(srtpDeclined).toBeUndefined();
      expect(sdp).toContain('m=audio 20000 RTP/SAVP 0 101\r\n');
      const lines = describeAudio(sdp).crypto;
      expect(lines).toHaveLength(1);
      const ours = parseSdesCrypto(lines[0] as string);
      expect(ours).toMatchObject({ tag: 7, suite: 'AES_CM_128_HMAC_SHA1_32' });
      expect(negotiated.srtp?.suite).toBe('AES_CM_128_HMAC_SHA1_32');
      // Each direction its own key: the peer's to unprotect, ours to protect.
      expect(negotiated.srtp?.remote.masterKey.equals(Buffer.from(PEER_KEY, 'base64').subarray(0, 16))).toBe(true);
      expect(negotiated.srtp?.local.masterKey.equals(ours.masterKey)).toBe(true);
      expect(ours.masterKey.equals(negotiated.srtp?.remote.masterKey as Buffer)).toBe(false);
    }
    const again = answerOffer(SAVP_OFFER, LOCAL, tls('optional')).negotiated.srtp;
    const first = answerOffer(SAVP_OFFER, LOCAL, tls('optional')).negotiated.srtp;
    expect(again?.local.masterKey.equals(first?.local.masterKey as Buffer)).toBe(false);
  });

  it('keeps our key on a re-offer with the same suite (§7.1.4), and takes the tag the re-offer uses', () => {
    const first = answerOffer(SAVP_OFFER, LOCAL, tls('optional')).negotiated.srtp;
    const reoffer = offer('RTP/SAVP', [`9 AES_CM_128_HMAC_SHA1_32 inline:${PEER_KEY}`]);
    const second = answerOffer(reoffer, { ...LOCAL, sessionVersion: 2 }, { ...tls('optional'), previous: first }).negotiated.srtp;
    expect(second?.local.tag).toBe(9);
    expect(second?.local.masterKey.equals(first?.local.masterKey as Buffer)).toBe(true);
    const otherSuite = offer('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${PEER_KEY}`]);
    const third = answerOffer(otherSuite, LOCAL, { ...tls('optional'), previous: first }).negotiated.srtp;
    expect(third?.local.masterKey.equals(first?.local.masterKey as Buffer)).toBe(false);
  });

  it('optional: a plain offer is answered plain; mandatory: it gets a refusal (488)', () => {
    const plain = answerOffer(offer('RTP/AVP'), LOCAL, tls('optional'));
    expect(plain.sdp).toContain('m=audio 20000 RTP/AVP 0 101\r\n');
    expect(plain.sdp).not.toContain('a=crypto');
    expect(plain.negotiated.srtp).toBeUndefined();
    expect(plain.srtpDeclined).toBeUndefined();
    expect(refusal(() => answerOffer(offer('RTP/AVP'), LOCAL, tls('mandatory')))).toBe('plain-offer');
  });

  it('a=crypto over UDP or TCP is never used (§8.3): optional answers plain and says why, mandatory refuses', () => {
    const plain = answerOffer(SAVP_OFFER, LOCAL, udp('optional'));
    expect(plain.sdp).toContain(' RTP/AVP ');
    expect(plain.sdp).not.toContain('a=crypto');
    expect(plain.negotiated.srtp).toBeUndefined();
    expect(plain.srtpDeclined).toBe('insecure-transport');
    expect(refusal(() => answerOffer(SAVP_OFFER, LOCAL, udp('mandatory')))).toBe('insecure-transport');
    // Keys in an RTP/AVP offer over UDP are noted too, whatever the policy.
    expect(answerOffer(offer('RTP/AVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${PEER_KEY}`]), LOCAL, udp('off')).srtpDeclined).toBe('insecure-transport');
  });

  it('an RTP/SAVP offer without a line we support: optional answers plain, mandatory refuses', () => {
    const unsupported = offer('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${PEER_KEY}|2^20|1:32`, '2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm']);
    expect(answerOffer(unsupported, LOCAL, tls('optional')).srtpDeclined).toBe('no-supported-crypto');
    expect(refusal(() => answerOffer(unsupported, LOCAL, tls('mandatory')))).toBe('no-supported-crypto');
    expect(refusal(() => answerOffer(offer('RTP/SAVP'), LOCAL, tls('mandatory')))).toBe('no-supported-crypto');
  });

  it('off: an RTP/SAVP offer is refused, a plain one answered as before', () => {
    expect(refusal(() => answerOffer(SAVP_OFFER, LOCAL, tls('off')))).toBe('srtp-off');
    expect(refusal(() => answerOffer(SAVP_OFFER, LOCAL))).toBe('insecure-transport');
    expect(answerOffer(offer('RTP/AVP'), LOCAL).sdp).toContain(' RTP/AVP ');
  });

  it('offers RTP/SAVP with both suites, each line its own key; reads the answer into per-direction keys', () => {
    const crypto = offerCrypto();
    const sdp = createOffer(LOCAL, 'sendrecv', crypto);
    expect(sdp).toContain('m=audio 20000 RTP/SAVP 0 8 101\r\n');
    const lines = describeAudio(sdp).crypto.map(parseSdesCrypto);
    expect(lines.map((l) => [l.tag, l.suite])).toEqual([
      [1, 'AES_CM_128_HMAC_SHA1_80'],
      [2, 'AES_CM_128_HMAC_SHA1_32'],
    ]);
    expect(lines[0]?.masterKey.equals(lines[1]?.masterKey as Buffer)).toBe(false);
    expect(createOffer(LOCAL)).not.toContain('a=crypto');

    const answer = answerOffer(sdp, { ...LOCAL, port: 30000 }, tls('mandatory'));
    const read = readAnswer(answer.sdp, crypto);
    expect(read.srtp?.suite).toBe('AES_CM_128_HMAC_SHA1_80');
    expect(read.srtp?.local.masterKey.equals(crypto[0]?.masterKey as Buffer)).toBe(true);
    expect(read.srtp?.remote.masterKey.equals(answer.negotiated.srtp?.local.masterKey as Buffer)).toBe(true);
  });

  it('refuses an answer to our RTP/SAVP offer that is plain, or names a tag we did not offer', () => {
    const crypto = offerCrypto();
    expect(refusal(() => readAnswer(offer('RTP/AVP'), crypto))).toBe('no-supported-crypto');
    expect(refusal(() => readAnswer(offer('RTP/SAVP', [`3 AES_CM_128_HMAC_SHA1_80 inline:${PEER_KEY}`]), crypto))).toBe('no-supported-crypto');
    expect(refusal(() => readAnswer(offer('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_32 inline:${PEER_KEY}`]), crypto))).toBe('no-supported-crypto');
    expect(() => readAnswer(offer('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${PEER_KEY}`]))).toThrow(SdpError);
  });
});
