import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtmfDetector } from '../../../media-server/embedded/media/dtmf-detector.js';
import { PCMU } from '../../../media-server/embedded/media/g711.js';
import { RtpPacket } from '../../../media-server/embedded/media/rtp-packet.js';
import { TelephoneEvent } from '../../../media-server/embedded/media/telephone-event.js';
import { NgCommandError } from '../../../tools/rtpengine/ng-client.js';
import { startRtpengine, type RunningRtpengine } from '../../../tools/rtpengine/rtpengine-process.js';
import { freePort } from '../../../tools/sipp/sipp-process.js';
import { closeAll, RtpPhone, sleep } from '../rtp/rtp-phone.js';

/**
 * The benchmark's rtpengine peer (tools/rtpengine): a real rtpengine
 * (Debian rtpengine-daemon, userspace) on loopback, driven over its ng
 * protocol — offer, answer, block DTMF, delete — relaying between two UDP
 * "phones"; what the callee's phone received is the capture.
 */
const TELEPHONE_EVENT = 96;

function sdp(port: number): string {
  return [
    'v=0', 'o=phone 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} RTP/AVP 0 ${TELEPHONE_EVENT}`, 'a=rtpmap:0 PCMU/8000', `a=rtpmap:${TELEPHONE_EVENT} telephone-event/8000`, 'a=sendrecv', '',
  ].join('\r\n');
}

const mediaPort = (sdpText: string): number => Number(/^m=audio (\d+)/m.exec(sdpText)?.[1]);

/** One RFC 4733 key press of 200 ms (§2.5.1.4: three end packets), then 200 ms of silent audio, paced at 20 ms. */
async function press(phone: RtpPhone, to: number, key: number, start: { sequence: number; timestamp: number }): Promise<void> {
  let sequence = start.sequence;
  for (let duration = 0; duration <= 1600; duration += 160) {
    const end = duration === 1600;
    for (let copy = 0; copy < (end ? 3 : 1); copy++) {
      const payload = new TelephoneEvent({ event: key, end, duration }).serialize();
      phone.send(to, new RtpPacket({ marker: duration === 0, payloadType: TELEPHONE_EVENT, sequenceNumber: sequence++, timestamp: start.timestamp, ssrc: 0x5eed, payload }).serialize());
    }
    await sleep(20);
  }
  let timestamp = start.timestamp + 1760;
  for (let i = 0; i < 10; i++, timestamp += 160) {
    phone.send(to, new RtpPacket({ payloadType: 0, sequenceNumber: sequence++, timestamp, ssrc: 0x5eed, payload: Buffer.alloc(160, 0xff) }).serialize());
    await sleep(20);
  }
}

function tonesIn(pcm: Int16Array): string[] {
  const keys: string[] = [];
  new DtmfDetector({ onDigitEnd: (key) => keys.push(key) }).process(pcm);
  return keys;
}

describe('rtpengine over the ng protocol', () => {
  let rtpengine: RunningRtpengine;
  beforeAll(async () => {
    const worker = Number(process.env.VITEST_POOL_ID ?? '1') % 40;
    const portMin = 46000 + worker * 100;
    rtpengine = await startRtpengine({ ngPort: await freePort(35000), portMin, portMax: portMin + 98, threads: 1 });
  });
  afterAll(() => rtpengine?.stop());

  it('relays after offer and answer, blocks the caller\'s keys after block DTMF, and forgets the call on delete', { timeout: 30_000 }, async (t) => {
    const caller = await RtpPhone.open();
    const agent = await RtpPhone.open();
    t.onTestFinished(() => closeAll(caller, agent));
    const callId = `ng-test-${process.pid}`;
    const offered = await rtpengine.ng.offer({ callId, fromTag: 'caller', sdp: sdp(caller.port), extra: { ICE: 'remove' } });
    const answered = await rtpengine.ng.answer({ callId, fromTag: 'caller', toTag: 'agent', sdp: sdp(agent.port), extra: { ICE: 'remove' } });
    // rtpengine puts itself in both SDPs: the agent is offered its port, the caller answered with another.
    expect(mediaPort(offered)).not.toBe(caller.port);
    expect(mediaPort(answered)).not.toBe(agent.port);
    const toAgent = mediaPort(answered);

    await press(caller, toAgent, 7, { sequence: 100, timestamp: 8000 });
    await sleep(200);
    const before = agent.received.length;
    const eventsBefore = agent.received.filter((r) => r.packet.payloadType === TELEPHONE_EVENT).length;
    // Not blocked yet: the key's events reach the agent.
    expect(eventsBefore).toBeGreaterThan(0);

    await rtpengine.ng.blockDtmf(callId, 'caller', 'drop');
    await press(caller, toAgent, 8, { sequence: 200, timestamp: 80_000 });
    await sleep(200);
    const after = agent.received.slice(before);
    // The silent audio after the key still flows; the key itself reaches the agent neither as events nor as a tone.
    expect(after.filter((r) => r.packet.payloadType === 0).length).toBeGreaterThan(0);
    expect(after.filter((r) => r.packet.payloadType === TELEPHONE_EVENT)).toEqual([]);
    const heard = new Int16Array(after.length * 160);
    after.filter((r) => r.packet.payloadType === 0).forEach((r, i) => PCMU.decode(r.packet.payload, heard.subarray(i * 160), r.packet.payload.length));
    expect(tonesIn(heard)).toEqual([]);

    await expect(rtpengine.ng.request({ command: 'query', 'call-id': callId })).resolves.toMatchObject({ result: 'ok' });
    await rtpengine.ng.delete(callId);
    await expect(rtpengine.ng.request({ command: 'query', 'call-id': callId })).rejects.toBeInstanceOf(NgCommandError);
  });
});
