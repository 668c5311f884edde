import { describe, expect, it } from 'vitest';
import {
  answerOffer,
  createOffer,
  describeAudio,
  NoCommonCodecError,
  readAnswer,
  SdpError,
} from '../../../media-server/embedded/sdp/sdp-negotiator.js';

const LOCAL = { address: '127.0.0.1', port: 20000, sessionId: 1, sessionVersion: 1 };

// The offer SIPp's uac scenario sends (PCMU only) with the telephone-event line play_dtmf needs.
const SIPP_OFFER = [
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 0 96',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:96 telephone-event/8000',
  '',
].join('\r\n');

describe('SDP offer/answer', () => {
  it('answers PCMU with telephone-event at the payload type the offer used', () => {
    const { sdp, negotiated } = answerOffer(SIPP_OFFER, LOCAL);
    expect(negotiated).toMatchObject({ codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: 96, remoteAddress: '127.0.0.1', remotePort: 6000 });
    expect(sdp).toContain('m=audio 20000 RTP/AVP 0 96\r\n');
    expect(sdp).toContain('a=rtpmap:96 telephone-event/8000');
    expect(sdp).toContain('a=fmtp:96 0-15');
    expect(sdp).toContain('c=IN IP4 127.0.0.1');
  });

  it('takes the first codec we carry, static payload types without rtpmap included', () => {
    const offer = SIPP_OFFER.replace('RTP/AVP 0 96', 'RTP/AVP 18 8 0').replace('a=rtpmap:96 telephone-event/8000\r\n', 'a=rtpmap:18 G729/8000\r\n');
    const { negotiated, sdp } = answerOffer(offer, LOCAL);
    expect(negotiated.codec).toBe('PCMA');
    expect(negotiated.telephoneEventPayloadType).toBeUndefined();
    expect(sdp).toContain('m=audio 20000 RTP/AVP 8\r\n');
  });

  it('refuses an offer with no G.711 (488)', () => {
    const offer = SIPP_OFFER.replace('RTP/AVP 0 96', 'RTP/AVP 18').replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:18 G729/8000');
    expect(() => answerOffer(offer, LOCAL)).toThrow(NoCommonCodecError);
  });

  it('sees hold (sendonly, inactive, c=0.0.0.0) and mirrors the direction', () => {
    const held = answerOffer(`${SIPP_OFFER}a=sendonly\r\n`, LOCAL);
    expect(held.negotiated.onHold).toBe(true);
    expect(held.sdp).toContain('a=recvonly');
    expect(describeAudio(SIPP_OFFER.replace('c=IN IP4 127.0.0.1', 'c=IN IP4 0.0.0.0')).onHold).toBe(true);
    expect(describeAudio(`${SIPP_OFFER}a=inactive\r\n`).onHold).toBe(true);
    expect(describeAudio(SIPP_OFFER).onHold).toBe(false);
  });

  it('refuses SDP without an audio stream', () => {
    expect(() => describeAudio('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n')).toThrow(SdpError);
    expect(() => describeAudio(SIPP_OFFER.replace('m=audio 6000', 'm=audio 0'))).toThrow(SdpError);
  });

  it('makes offers a peer can answer, and reads the answer', () => {
    const offer = createOffer(LOCAL);
    expect(describeAudio(offer).formats.map((f) => f.codec)).toEqual(['PCMU', 'PCMA', 'telephone-event']);
    const { sdp: answer } = answerOffer(offer, { ...LOCAL, port: 30000 });
    expect(readAnswer(answer)).toMatchObject({ codec: 'PCMU', remotePort: 30000, telephoneEventPayloadType: 101 });
  });
});
