import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SrtpContext, SrtpError, srtpCounterBlock, type SrtpCryptoSuite } from '../../../media-server/embedded/rtp/srtp-context.js';
import { deriveSrtpSessionKeys } from '../../../media-server/embedded/rtp/srtp-key-derivation.js';
import { SrtpReplayWindow } from '../../../media-server/embedded/rtp/srtp-replay-window.js';

// The SRTP transform (RFC 3711, AES-CM + HMAC-SHA1) on the RFC's own test
// vectors (Appendix B.2, B.3) and on libsrtp's reference packet
// (srtp_driver.c srtp_validate: the same master key, SSRC 0xcafebabe, SEQ
// 0x1234, sixteen 0xab octets), then replay protection and the rollover
// counter. Hex strings below are copied from those sources.

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MASTER_KEY = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const MASTER_SALT = hex('0EC675AD498AFEEBB6960B3AABE6');

describe('RFC 3711 Appendix B.3: key derivation', () => {
  it('derives the cipher key, the cipher salt and the authentication key', () => {
    const keys = deriveSrtpSessionKeys(MASTER_KEY, MASTER_SALT);
    expect(keys.encryption.toString('hex')).toBe('c61e7a93744f39ee10734afe3ff7a087');
    expect(keys.salt.toString('hex')).toBe('30cbbc08863d8c85d49db34a9ae1');
    expect(keys.authentication.toString('hex')).toBe('cebe321f6ff7716b6fd4ab49af256a156d38baa4');
  });
});

describe('RFC 3711 Appendix B.2: AES-CM keystream', () => {
  it('counter block and keystream for SSRC 0, ROC 0, SEQ 0', () => {
    const iv = srtpCounterBlock(hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), 0, 0, 0);
    expect(iv.toString('hex')).toBe('f0f1f2f3f4f5f6f7f8f9fafbfcfd0000');
    const keystream = createCipheriv('aes-128-ctr', hex('2B7E151628AED2A6ABF7158809CF4F3C'), iv).update(Buffer.alloc(16 * 0xff02));
    const block = (n: number): string => keystream.subarray(16 * n, 16 * (n + 1)).toString('hex');
    expect(block(0)).toBe('e03ead0935c95e80e166b16dd92b4eb4');
    expect(block(1)).toBe('d23513162b02d0f72a43a2fe4a5f97ab');
    expect(block(2)).toBe('41e95b3bb0a2e8dd477901e4fca894c0');
    expect(block(0xfeff)).toBe('ec8cdf7398607cb0f2d21675ea9ea1e4');
    expect(block(0xff00)).toBe('362b7c3c6773516318a077d7fc5073ae');
    expect(block(0xff01)).toBe('6a2cc3787889374fbeb4c81b17ba6c44');
  });

  it('puts SSRC, ROC and SEQ where §4.1.1 says', () => {
    expect(srtpCounterBlock(Buffer.alloc(14), 0xcafebabe, 0x01020304, 0x1234).toString('hex')).toBe('00000000cafebabe0102030412340000');
  });
});

const PLAIN = hex('800f1234decafbadcafebabe abababababababababababababababab');
const SRTP_80 = hex('800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb');

const pair = (suite: SrtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80'): { sender: SrtpContext; receiver: SrtpContext } => ({
  sender: new SrtpContext(suite, MASTER_KEY, MASTER_SALT, 'outbound'),
  receiver: new SrtpContext(suite, MASTER_KEY, MASTER_SALT, 'inbound'),
});

/** An RTP packet of SSRC 0xcafebabe with this sequence number and a 20-byte payload. */
function rtp(seq: number, fill = 0x55): Buffer {
  const packet = Buffer.alloc(32, fill);
  packet.writeUInt16BE(0x8000, 0);
  packet.writeUInt16BE(seq, 2);
  packet.writeUInt32BE(160 * seq, 4);
  packet.writeUInt32BE(0xcafebabe, 8);
  return packet;
}

describe('protect and unprotect (RFC 3711 §3.3) on libsrtp\'s reference packet', () => {
  it('AES_CM_128_HMAC_SHA1_80: the same ciphertext and tag, and back', () => {
    const { sender, receiver } = pair();
    expect(sender.protect(PLAIN).toString('hex')).toBe(SRTP_80.toString('hex'));
    expect(receiver.unprotect(SRTP_80).toString('hex')).toBe(PLAIN.toString('hex'));
  });

  it('AES_CM_128_HMAC_SHA1_32: the same ciphertext, the tag cut to 32 bits', () => {
    const { sender, receiver } = pair('AES_CM_128_HMAC_SHA1_32');
    const protectedPacket = sender.protect(PLAIN);
    expect(protectedPacket.toString('hex')).toBe(SRTP_80.subarray(0, SRTP_80.length - 6).toString('hex'));
    expect(receiver.unprotect(protectedPacket).equals(PLAIN)).toBe(true);
  });

  it('protects and unprotects in place, in a buffer with room for the tag, with the same bytes', () => {
    const { sender, receiver } = pair();
    const buffer = Buffer.alloc(PLAIN.length + 10);
    PLAIN.copy(buffer);
    const sent = sender.protect(buffer.subarray(0, PLAIN.length), buffer);
    expect(sent.buffer).toBe(buffer.buffer);
    expect(sent.toString('hex')).toBe(SRTP_80.toString('hex'));
    const received = Buffer.from(SRTP_80);
    const plain = receiver.unprotect(received, received);
    expect(plain.buffer).toBe(received.buffer);
    expect(plain.toString('hex')).toBe(PLAIN.toString('hex'));
    expect(() => pair().sender.protect(PLAIN, Buffer.alloc(PLAIN.length + 9))).toThrow(RangeError);
  });

  it('leaves a CSRC list and a header extension in clear, and authenticates them', () => {
    const { sender, receiver } = pair();
    const packet = Buffer.concat([hex('9100 0007 00000460 cafebabe 11111111 bede0001 01020304'), Buffer.alloc(20, 0x33)]);
    const sent = sender.protect(packet);
    expect(sent.subarray(0, 24).equals(packet.subarray(0, 24))).toBe(true);
    expect(sent.subarray(24, 44).equals(packet.subarray(24))).toBe(false);
    const tampered = Buffer.from(sent);
    tampered[21] = (tampered[21] as number) ^ 1;
    expect(() => receiver.unprotect(tampered)).toThrow(SrtpError);
    expect(receiver.unprotect(sent).equals(packet)).toBe(true);
  });
});

const rejection = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (err instanceof SrtpError) return err.reason;
    throw err;
  }
  return undefined;
};

describe('what the receiver discards', () => {
  it('a packet whose tag does not verify, without moving its state; a packet under another key', () => {
    const { sender, receiver } = pair();
    const first = sender.protect(rtp(10));
    const flipped = Buffer.from(first);
    flipped[15] = (flipped[15] as number) ^ 0x80;
    expect(rejection(() => receiver.unprotect(flipped))).toBe('authentication');
    expect(receiver.unprotect(first).equals(rtp(10))).toBe(true);
    const stranger = new SrtpContext('AES_CM_128_HMAC_SHA1_80', Buffer.alloc(16, 7), Buffer.alloc(14, 7), 'outbound');
    expect(rejection(() => receiver.unprotect(stranger.protect(rtp(11))))).toBe('authentication');
    expect(rejection(() => receiver.unprotect(first.subarray(0, 20)))).toBe('too-short');
  });

  it('a replay (§3.3.2), and a packet older than the window; late packets inside it are taken', () => {
    const { sender, receiver } = pair();
    const sent = Array.from({ length: 200 }, (_, i) => sender.protect(rtp(1000 + i)));
    expect(receiver.unprotect(sent[0]!).equals(rtp(1000))).toBe(true);
    expect(rejection(() => receiver.unprotect(sent[0]!))).toBe('replayed');
    for (let i = 199; i >= 100; i--) receiver.unprotect(sent[i]!);
    expect(rejection(() => receiver.unprotect(sent[150]!))).toBe('replayed');
    // Index 1199 is the highest; the window is 128 wide: 1071 is just out, 1072 still in.
    expect(rejection(() => receiver.unprotect(sent[71]!))).toBe('too-old');
    expect(receiver.unprotect(sent[72]!).equals(rtp(1072))).toBe(true);
  });
});

describe('the rollover counter (RFC 3711 §3.3.1)', () => {
  it('counts the sequence number wrap on both sides, with packets reordered across it', () => {
    const { sender, receiver } = pair();
    const seqs = [65533, 65534, 65535, 0, 1, 2];
    const sent = seqs.map((seq) => sender.protect(rtp(seq)));
    // 65535 late, after 0 and 1: still ROC 0; 0, 1 and 2 are ROC 1.
    for (const i of [0, 1, 3, 4, 2, 5]) expect(receiver.unprotect(sent[i]!).equals(rtp(seqs[i]!))).toBe(true);
    // After the wrap the keystream differs from the first cycle's for the same SEQ.
    const fresh = pair().sender;
    expect(fresh.protect(rtp(2)).equals(sent[5]!)).toBe(false);
  });

  it('the replay window spans the wrap', () => {
    const window = new SrtpReplayWindow(64);
    window.accept(65535);
    window.accept(65536);
    expect(window.check(65535)).toBe('replayed');
    expect(window.check(65534)).toBe('ok');
    expect(window.check(65536 - 64)).toBe('too-old');
  });
});
