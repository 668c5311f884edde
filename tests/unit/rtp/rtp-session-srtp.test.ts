import { describe, expect, it, onTestFinished } from 'vitest';
import { dtmfEventCode } from '../../../media-server/embedded/media/dtmf-keypad.js';
import { RtpPacket } from '../../../media-server/embedded/media/rtp-packet.js';
import { TelephoneEvent } from '../../../media-server/embedded/media/telephone-event.js';
import { ToneGenerator } from '../../../media-server/embedded/media/tone-generator.js';
import { SrtpContext } from '../../../media-server/embedded/rtp/srtp-context.js';
import { newSdesCrypto } from '../../../media-server/embedded/sdp/sdes-crypto.js';
import { FIRST_TIMESTAMP, FRAME, HandDrivenBridge } from './hand-driven-bridge.js';
import { detectKeys } from './signals.js';

const silence = (): Int16Array => new Int16Array(FRAME);

async function openSrtpBridge(): Promise<HandDrivenBridge> {
  const bridge = await HandDrivenBridge.open('silence', { srtp: true });
  onTestFinished(() => bridge.close());
  bridge.caller.setDtmfMasking(true);
  return bridge;
}

/** A press of `key` as RFC 4733 events from frame `first` for `frames` frames, then the end block three times. */
async function pressByEvents(bridge: HandDrivenBridge, key: '4' | '7', first: number, frames: number): Promise<void> {
  const event = dtmfEventCode(key);
  const startSample = first * FRAME;
  for (let f = 0; f < frames; f++) await bridge.step(silence(), [{ event, duration: (f + 1) * FRAME, startSample, marker: f === 0 }]);
  for (let i = 0; i < 3; i++) await bridge.step(silence(), [{ event, end: true, duration: frames * FRAME, startSample }]);
}

describe('RtpSession with SRTP (RFC 3711) keys from the SDP', () => {
  it('RFC 4733 events inside SRTP are decrypted before the receiver: the key is reported once', async () => {
    const bridge = await openSrtpBridge();
    for (let f = 0; f < 5; f++) await bridge.step(silence());
    await pressByEvents(bridge, '7', 5, 8);
    for (let f = 0; f < 10; f++) await bridge.step(silence());
    expect(bridge.keys.map((k) => [k.key, k.method])).toEqual([['7', 'rfc4733']]);
    expect(bridge.caller.stats()).toMatchObject({ eventPackets: 11, malformed: 0, undeclaredPayloadType: 0, srtpAuthenticationFailures: 0, srtpReplayed: 0 });
  });

  it('in-band tones inside SRTP are detected and masked: the agent, decrypting, hears no key; the wire is not plain RTP', async () => {
    const bridge = await openSrtpBridge();
    const audio = new Int16Array(40 * FRAME);
    ToneGenerator.dtmf('4', { lowLevelDbm0: -10, highLevelDbm0: -10 }).add(audio, 8 * FRAME, 120 * 8);
    for (let f = 0; f < 40; f++) await bridge.step(audio.slice(f * FRAME, (f + 1) * FRAME));
    expect(detectKeys(audio)).toEqual(['4']);
    expect(bridge.keys.map((k) => [k.key, k.method])).toEqual([['4', 'inband']]);
    expect(detectKeys(await bridge.agentAudio())).toEqual([]);
    // What the agent's phone got: our packet plus the 80-bit tag, the payload not the PCMU the phone decrypts.
    expect(bridge.agentWire.length).toBe(bridge.agent.stats().packetsOut);
    expect(bridge.agentWire.every((d) => d.length === 12 + 160 + 10)).toBe(true);
    expect(bridge.agent.stats().bytesOut).toBe(bridge.agentWire.length * 182);
  });

  it('drops and counts a tampered packet, a replay, plain RTP and a packet under another key; none reaches the receiver', async () => {
    const bridge = await openSrtpBridge();
    for (let f = 0; f < 3; f++) await bridge.step(silence());
    const event = (seq: number): RtpPacket =>
      new RtpPacket({ marker: true, payloadType: 101, sequenceNumber: seq, timestamp: FIRST_TIMESTAMP + 3 * FRAME, ssrc: 0x2a2a2a2a, payload: new TelephoneEvent({ event: 9, duration: 160 }).serialize() });
    const genuine = bridge.wire(event(2000));
    const tampered = Buffer.from(genuine);
    tampered[14] = (tampered[14] as number) ^ 0x01;
    await bridge.sendRaw(tampered);
    // Plain RTP audio, which SRTP reads as a packet with a wrong tag; a plain event is too short even for that.
    await bridge.sendRaw(new RtpPacket({ marker: false, payloadType: 0, sequenceNumber: 2001, timestamp: 0, ssrc: 0x2a2a2a2a, payload: Buffer.alloc(160, 0xff) }).serialize());
    await bridge.sendRaw(event(2001).serialize());
    const stranger = newSdesCrypto(1, 'AES_CM_128_HMAC_SHA1_80');
    await bridge.sendRaw(new SrtpContext('AES_CM_128_HMAC_SHA1_80', stranger.masterKey, stranger.masterSalt, 'outbound').protect(event(2002).serialize()));
    expect(bridge.caller.stats()).toMatchObject({ srtpAuthenticationFailures: 3, malformed: 1, srtpReplayed: 0, eventPackets: 0, audioPackets: 3 });
    await bridge.sendRaw(genuine);
    await bridge.sendRaw(genuine);
    expect(bridge.caller.stats()).toMatchObject({ srtpAuthenticationFailures: 3, srtpReplayed: 1, eventPackets: 1 });
    await bridge.step(silence());
    expect(bridge.keys.map((k) => k.key)).toEqual(['9']);
  });

  it('a re-INVITE with the same keys keeps each direction going; a new peer key applies from then on', async () => {
    const bridge = await openSrtpBridge();
    for (let f = 0; f < 3; f++) await bridge.step(silence());
    const remote = bridge.caller.remote;
    const keys = bridge.callerSrtp;
    if (!remote || !keys) throw new Error('the bridge is SRTP');
    bridge.caller.setRemote({ ...remote, srtp: { ...keys } });
    for (let f = 0; f < 3; f++) await bridge.step(silence());
    expect(bridge.caller.stats()).toMatchObject({ audioPackets: 6, srtpAuthenticationFailures: 0, srtpReplayed: 0 });
    bridge.caller.setRemote({ ...remote, srtp: { ...keys, remote: newSdesCrypto(1, 'AES_CM_128_HMAC_SHA1_80') } });
    await bridge.step(silence());
    expect(bridge.caller.stats()).toMatchObject({ audioPackets: 6, srtpAuthenticationFailures: 1 });
  });
});
