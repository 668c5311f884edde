import { readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtpPacketView } from '../../../media-server/embedded/media/rtp-packet.js';
import { SrtpContext } from '../../../media-server/embedded/rtp/srtp-context.js';
import { parseSdesCrypto } from '../../../media-server/embedded/sdp/sdes-crypto.js';
import { pcmuAudio, rtpTo } from '../../../tools/capture/rtp-capture.js';
import { killAllCaptures, startCapture } from '../../../tools/capture/tcpdump.js';
import { freePort } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { TEST_CARDS } from '../../../tools/test-cards.js';
import { BaresipPhone, killAllBaresip } from '../../support/baresip-phone.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { makeTestCertificates, type TestCertificates } from '../../support/test-certificates.js';
import { testDataDir } from '../../support/test-data-dir.js';
import { detectKeys, rms, speechLike } from '../../unit/rtp/signals.js';

const { visa: VISA, mastercard: MASTERCARD } = TEST_CARDS;
const EXPIRY = '1230';
const CODE = '123';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A minute of a phone's voice: longer than any call here (baresip's file source does not loop). */
const MINUTE = 8000 * 60;

/** The SDP a=crypto values and telephone-event payload type of the first traced message starting with `start`. */
function sdpOf(phone: BaresipPhone, start: string): { crypto: string[]; eventPayloadType: number | undefined } {
  const message = phone.sipMessages().find((m) => m.startsWith(start) && /^CSeq: \d+ INVITE/m.test(m));
  if (!message) throw new Error(`no "${start}" in baresip's trace`);
  return {
    crypto: [...message.matchAll(/^a=crypto:(.+?)\r?$/gm)].map((m) => m[1]!),
    eventPayloadType: Number(/^a=rtpmap:(\d+) telephone-event\/8000/m.exec(message)?.[1]) || undefined,
  };
}

/** The RTP payload type of a datagram, or -1 if it is no RTP packet. */
function payloadTypeOf(datagram: Buffer): number {
  try {
    return new RtpPacketView().read(datagram).payloadType;
  } catch {
    return -1;
  }
}

/** What a capture file holds of plain SIP or card data (TLS hides all of it). */
function plainTextIn(capture: Buffer): string[] {
  const text = capture.toString('latin1');
  return ['INVITE ', 'ACK ', 'BYE ', 'SIP/2.0', 'application/sdp', 'a=crypto', 'telephone-event', VISA, MASTERCARD].filter((s) => text.includes(s));
}

/** TLS 1.2+ application-data records (content type 23, version 3.3) in a capture. */
const tlsRecords = (capture: Buffer): number => capture.toString('latin1').split('\x17\x03\x03').length - 1;

/** Share of µ-law silence bytes (0xFF, 0x7F) in payloads: near 1 for a silent phone's plain PCMU, near 2/256 when encrypted. */
function silenceShare(payloads: readonly Buffer[]): number {
  let silent = 0;
  let total = 0;
  for (const p of payloads) for (const byte of p) (total++, (silent += byte === 0xff || byte === 0x7f ? 1 : 0));
  return silent / total;
}

/**
 * The must-show with an independent client: Debian's baresip, not our code,
 * calls the pay number over SIP over TLS with mandatory SRTP (SDES) and keys
 * the payment as RFC 4733 events; a second baresip is the agent the IVR
 * calls back over TLS and SRTP. tcpdump shows what crossed the wire; the
 * keys baresip printed in its own SIP trace decrypt it back, which proves
 * the events were there, inside SRTP.
 */
describe('baresip over TLS with mandatory SRTP (SDES)', () => {
  const work = mkdtempSync(join(tmpdir(), 'baresip-srtp-'));
  const dataDir = testDataDir('baresip-srtp');
  const phones: BaresipPhone[] = [];
  let certs: TestCertificates;
  let system: RunningSystem;
  let tlsPort: number;
  let rtpRange: [number, number];

  beforeAll(async () => {
    certs = makeTestCertificates();
    writeFileSync(join(work, 'orders.json'), JSON.stringify([{ reference: '5001', amountMinor: 2150, currency: 'EUR', description: 'baresip order' }]));
    const rtpBase = 58000 + Number(process.env.VITEST_POOL_ID ?? '1') * 200;
    rtpRange = [rtpBase, rtpBase + 198];
    tlsPort = await freePort(35000);
    system = await startSystem({
      DATA_DIR: dataDir,
      HTTP_PORT: String(await freePort(32000)),
      SIP_PORT: String(await freePort(36000)),
      SIP_TLS_PORT: String(tlsPort),
      SIP_TLS_CERT: certs.certFile,
      SIP_TLS_KEY: certs.keyFile,
      // The agent's baresip has a certificate from the same private CA.
      SIP_TLS_CA: certs.caFile,
      SRTP: 'mandatory',
      RTP_PORT_MIN: String(rtpRange[0]),
      RTP_PORT_MAX: String(rtpRange[1]),
      ORDERS_FILE: join(work, 'orders.json'),
      LOG_LEVEL: 'debug',
      SANDBOX_LATENCY_MS: '50',
    });
  });

  afterAll(async () => {
    killAllCaptures();
    await Promise.all(phones.map((p) => p.stop()));
    killAllBaresip();
    await system?.stop();
    certs?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  async function phone(options: Parameters<typeof BaresipPhone.start>[0]): Promise<BaresipPhone> {
    const started = await BaresipPhone.start(options);
    phones.push(started);
    return started;
  }

  async function statusOf(id: string, wanted: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const session = await system.api<Record<string, unknown>>(`/api/v1/sessions/${id}`);
      if (session.status === wanted || Date.now() > deadline) return session;
      await sleep(200);
    }
  }

  describe.concurrent('calls', { timeout: 120_000 }, () => {
    it('direct pay: baresip keys RFC 4733 inside SRTP over TLS; approved; the wire holds no plain SIP, no readable event and no plain audio; baresip\'s key decrypts it', async () => {
      const caller = await phone({ user: 'caller', caFile: certs.caFile, voice: new Int16Array(MINUTE) });
      const capture = await startCapture({ filter: `(tcp and port ${tlsPort}) or (udp and portrange ${caller.rtpPorts[0]}-${caller.rtpPorts[1]})` });
      caller.dial(`sip:pay@127.0.0.1:${tlsPort};transport=tls`);
      await caller.event('CALL_ESTABLISHED', 15_000);
      expect((await caller.event('CALL_MENC', 1000)).param).toMatch(/AES_CM_128_HMAC_SHA1_(80|32)/);
      await sleep(800);
      await caller.press('5001#');
      await sleep(1000);
      await caller.press(VISA);
      await sleep(1000);
      await caller.press(EXPIRY);
      await sleep(400);
      await caller.press(CODE);
      // The IVR says the result and hangs up.
      await caller.event('CALL_CLOSED', 40_000);
      const datagrams = await capture.stop();
      const payments = (await system.api<{ payments: { status: string; cardLast4: string }[] }>('/api/v1/payments?reference=5001')).payments;
      expect(payments).toMatchObject([{ status: 'approved', cardLast4: '4242' }]);

      // Signalling: TLS records only.
      const wire = readFileSync(capture.path);
      expect(plainTextIn(wire)).toEqual([]);
      expect(tlsRecords(wire)).toBeGreaterThan(5);

      // Media from baresip: its offer's key (under the tag the system's answer took) is in its own trace only.
      const offer = sdpOf(caller, 'INVITE ');
      const answer = sdpOf(caller, 'SIP/2.0 200');
      expect(answer.crypto).toHaveLength(1);
      const answerTag = parseSdesCrypto(answer.crypto[0]!).tag;
      const callerKey = parseSdesCrypto(offer.crypto.find((c) => parseSdesCrypto(c).tag === answerTag)!);
      const eventPt = offer.eventPayloadType!;
      expect(eventPt).toBeGreaterThan(95);
      // Its RTP to the system (its SRTCP, payload types 200-204 read as 72-76 here, left out).
      const fromCaller = datagrams.filter((d) => d.sourcePort >= caller.rtpPorts[0] && d.sourcePort <= caller.rtpPorts[1]
        && d.destinationPort >= rtpRange[0] && d.destinationPort <= rtpRange[1] && [0, eventPt].includes(payloadTypeOf(d.payload)));
      const onWire = rtpTo(fromCaller);
      const events = onWire.filter((p) => p.payloadType === eventPt);
      const audio = onWire.filter((p) => p.payloadType === 0);
      expect(audio.length).toBeGreaterThan(200);
      // Each packet carries the SRTP tag after its payload: an event is 4 + 10 bytes, 20 ms of PCMU 160 + 10.
      expect(events.length).toBeGreaterThan(3 * 25);
      expect(events.every((p) => p.payload.length === 4 + 10)).toBe(true);
      expect(audio.every((p) => p.payload.length === 160 + 10)).toBe(true);
      // Read as plain: the silence baresip sends is not there, and no key tone either.
      expect(silenceShare(audio.map((p) => p.payload.subarray(0, 160)))).toBeLessThan(0.05);
      expect(detectKeys(pcmuAudio(audio.map((p) => ({ ...p, payload: p.payload.subarray(0, 160) }))))).toEqual([]);

      // Under baresip's key, the same datagrams give back the silence and every key pressed, in order.
      const receiver = new SrtpContext(callerKey.suite, callerKey.masterKey, callerKey.masterSalt, 'inbound');
      const view = new RtpPacketView();
      const keyed: number[] = [];
      const plainAudio: Buffer[] = [];
      let lastTimestamp = -1;
      for (const d of fromCaller) {
        view.read(receiver.unprotect(Buffer.from(d.payload)));
        const payload = view.buffer.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength);
        if (view.payloadType === 0) plainAudio.push(Buffer.from(payload));
        // RFC 4733 §2.5.1: one event per timestamp, its code in the first byte.
        if (view.payloadType === eventPt && view.timestamp !== lastTimestamp) {
          lastTimestamp = view.timestamp;
          keyed.push(payload[0]!);
        }
      }
      const digits = keyed.map((code) => (code === 11 ? '#' : code === 10 ? '*' : String(code))).join('');
      expect(digits).toBe(`5001#${VISA}${EXPIRY}${CODE}`);
      expect(silenceShare(plainAudio)).toBeGreaterThan(0.95);
    });

    it('agent call-back to a second baresip over TLS and SRTP: the agent hears the caller, and no DTMF in its decrypted audio; approved', async () => {
      const agent = await phone({
        user: 'agent', caFile: certs.caFile, certificate: { certFile: certs.certFile, keyFile: certs.keyFile },
        answerMode: 'auto', voice: new Int16Array(MINUTE), keepHeardAudio: true,
      });
      const caller = await phone({ user: 'caller', caFile: certs.caFile, voice: speechLike(MINUTE, 11) });
      const session = await system.post<{ id: string; code: string }>('/api/v1/sessions', { amount: 4250, currency: 'EUR', reference: 'BARESIP-AGENT', agentUri: agent.tlsUri });
      const toAgent = await startCapture({ filter: `udp and dst portrange ${agent.rtpPorts[0]}-${agent.rtpPorts[1]}` });
      caller.dial(`sip:pay-${session.code}@127.0.0.1:${tlsPort};transport=tls`);
      await caller.event('CALL_ESTABLISHED', 15_000);
      await agent.event('CALL_ESTABLISHED', 15_000);
      expect((await agent.event('CALL_MENC', 1000)).param).toMatch(/AES_CM_128_HMAC_SHA1_(80|32)/);
      await sleep(2500);
      await caller.press(MASTERCARD);
      await sleep(1500);
      await caller.press(EXPIRY);
      await sleep(1500);
      await caller.press(CODE);
      expect(await statusOf(session.id, 'approved')).toMatchObject({ status: 'approved', cardLast4: '4444' });
      caller.hangup();
      await agent.event('CALL_CLOSED', 15_000);
      const datagrams = await toAgent.stop();

      // The agent's phone decrypted and decoded the call: the caller's voice is there, no key tone.
      const heard = await agent.heard();
      expect(heard.length).toBeGreaterThan(8000 * 5);
      expect(rms(heard)).toBeGreaterThan(300);
      expect(detectKeys(heard)).toEqual([]);
      // On the wire to the agent: SRTP (each PCMU packet with its tag), only audio, and nothing a plain decoder hears as a key.
      const packets = rtpTo(datagrams).filter((p) => p.payload.length > 0);
      expect(packets.length).toBeGreaterThan(200);
      expect(new Set(packets.map((p) => p.payloadType))).toEqual(new Set([0]));
      expect(packets.every((p) => p.payload.length === 160 + 10)).toBe(true);
      expect(detectKeys(pcmuAudio(packets.map((p) => ({ ...p, payload: p.payload.subarray(0, 160) }))))).toEqual([]);
    });

    it('an agent whose certificate names another host: the call-back fails with a log line naming why; the caller pays alone', async () => {
      const agent = await phone({
        user: 'agent', caFile: certs.caFile, certificate: { certFile: certs.wrongNameCertFile, keyFile: certs.wrongNameKeyFile },
        answerMode: 'auto', voice: new Int16Array(MINUTE),
      });
      const caller = await phone({ user: 'caller', caFile: certs.caFile, voice: new Int16Array(MINUTE) });
      const session = await system.post<{ id: string; code: string }>('/api/v1/sessions', { amount: 990, currency: 'EUR', reference: 'BARESIP-WRONG-NAME', agentUri: agent.tlsUri });
      caller.dial(`sip:pay-${session.code}@127.0.0.1:${tlsPort};transport=tls`);
      await caller.event('CALL_ESTABLISHED', 15_000);
      await sleep(2500);
      await caller.press(VISA);
      await sleep(1500);
      await caller.press(EXPIRY);
      await sleep(1500);
      await caller.press(CODE);
      expect(await statusOf(session.id, 'approved')).toMatchObject({ status: 'approved', cardLast4: '4242' });
      await caller.event('CALL_CLOSED', 30_000);
      expect(agent.events.some((e) => e.type === 'CALL_INCOMING')).toBe(false);
      const line = system.output.find((l) => l.includes('outgoing call could not reach its target') && l.includes(agent.tlsUri));
      expect(line).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    });
  });

  it('left no SRTP key and no card number in any log line', () => {
    const log = system.output.join('\n');
    const keys = phones.flatMap((p) => [...p.output.matchAll(/inline:([A-Za-z0-9+/=]+)/g)].map((m) => m[1]!));
    expect(keys.length).toBeGreaterThan(4);
    for (const key of keys) expect(log.includes(key)).toBe(false);
    expect(findCardDataInText(log, [VISA, MASTERCARD])).toEqual([]);
  });
});
