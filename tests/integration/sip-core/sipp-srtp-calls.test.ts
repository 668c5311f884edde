import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtpPacketView } from '../../../media-server/embedded/media/rtp-packet.js';
import { SrtpContext } from '../../../media-server/embedded/rtp/srtp-context.js';
import { newSdesCrypto, writeSdesCrypto } from '../../../media-server/embedded/sdp/sdes-crypto.js';
import { killAllCaptures, startCapture } from '../../../tools/capture/tcpdump.js';
import { freePort, killAllSipp, runSipp, SippPortSequence, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { TEST_CARDS } from '../../../tools/test-cards.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { SRTP_PHONE_EVENT_PT, SrtpPhone } from '../../support/srtp-phone.js';
import { makeTestCertificates, type TestCertificates } from '../../support/test-certificates.js';
import { tcpToTlsRelay, type TlsRelay } from '../../support/tls-relay.js';
import { testDataDir } from '../../support/test-data-dir.js';
import { SCENARIOS } from './sipp-runner.js';

const { visa: VISA, mastercard: MASTERCARD } = TEST_CARDS;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * SRTP with SDES keys end to end: the system started as `npm start` starts
 * it, with SRTP=mandatory and SIP over TLS. SIPp carries each caller's
 * signalling through a TLS relay (it has neither TLS nor SRTP here); its
 * RTP/SAVP offer names a test SRTP phone (tests/support/srtp-phone.ts) that
 * keys the payment as RFC 4733 events inside SRTP. tcpdump on the system's
 * RTP port shows what crossed the wire.
 */
describe('SRTP (SDES over TLS) with SIPp signalling and an SRTP test phone', () => {
  const work = mkdtempSync(join(tmpdir(), 'sip-srtp-'));
  const dataDir = testDataDir('sip-srtp');
  const sippPorts = new SippPortSequence(39000);
  const relays: TlsRelay[] = [];
  const keysSeen: string[] = [];
  let certs: TestCertificates;
  let system: RunningSystem;
  let tlsPort: number;
  let sipPort: number;

  beforeAll(async () => {
    certs = makeTestCertificates();
    const orders = [
      { reference: '4001', amountMinor: 1250, currency: 'EUR', description: 'SRTP order one' },
      { reference: '4002', amountMinor: 3400, currency: 'EUR', description: 'SRTP order two' },
    ];
    writeFileSync(join(work, 'orders.json'), JSON.stringify(orders));
    const rtpBase = 56000 + Number(process.env.VITEST_POOL_ID ?? '1') * 200;
    tlsPort = await freePort(35000);
    sipPort = await freePort(36000);
    system = await startSystem({
      DATA_DIR: dataDir,
      HTTP_PORT: String(await freePort(32000)),
      SIP_PORT: String(sipPort),
      SIP_TLS_PORT: String(tlsPort),
      SIP_TLS_CERT: certs.certFile,
      SIP_TLS_KEY: certs.keyFile,
      SRTP: 'mandatory',
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 198),
      ORDERS_FILE: join(work, 'orders.json'),
      LOG_LEVEL: 'debug',
      SANDBOX_LATENCY_MS: '50',
    });
  });

  afterAll(async () => {
    killAllCaptures();
    killAllSipp();
    await Promise.all(relays.map((r) => r.close()));
    await system?.stop();
    certs?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  async function callerRelay(): Promise<TlsRelay> {
    const relay = await tcpToTlsRelay({ port: tlsPort, ca: certs.read(certs.caFile) });
    relays.push(relay);
    return relay;
  }

  async function untilFile(path: string, ms: number): Promise<string> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (existsSync(path)) {
        const text = readFileSync(path, 'utf8').trim();
        if (text.includes('inline:')) return text;
      }
      await sleep(50);
    }
    throw new Error(`no answer written to ${path}`);
  }

  describe.concurrent('calls', { timeout: 100_000 }, () => {
    it.each([
      ['4001', VISA, '4242'],
      ['4002', MASTERCARD, '4444'],
    ])('direct pay %s keyed as RFC 4733 inside SRTP over TLS: approved; the wire carries no plain event, the phone key decrypts it', async (reference, card, last4) => {
      const phone = await SrtpPhone.open();
      keysSeen.push(phone.cryptoAttribute.split('inline:')[1] as string);
      const relay = await callerRelay();
      const port = await sippPorts.next();
      const answerFile = join(work, `answer-${port}.txt`);
      const run: Promise<SippRun> = runSipp({
        args: [`127.0.0.1:${relay.port}`, '-t', 't1', '-sf', join(SCENARIOS, 'uac-srtp-wait-bye.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1',
          '-key', 'phoneport', String(phone.port), '-key', 'crypto', phone.cryptoAttribute, '-key', 'answer', answerFile],
        timeoutMs: 90_000,
      });
      try {
        const answer = await untilFile(answerFile, 15_000).catch(async (err: Error) => {
          const failed = await run;
          throw new Error(`${err.message}; SIPp: ${failed.exitCode} ${failed.errors} ${failed.stderr} ${failed.stdout.slice(-800)}`);
        });
        const [rtpPortText, ...crypto] = answer.split(' ');
        const systemPort = Number(rtpPortText);
        keysSeen.push(crypto.join(' ').split('inline:')[1] as string);
        phone.answered(systemPort, crypto.join(' '));
        const capture = await startCapture({ filter: `udp and port ${systemPort}` });
        await sleep(800);
        await phone.press(`${reference}#`);
        // One replayed and one tampered packet, to be discarded and counted (RFC 3711 §3.3).
        phone.replayLast();
        phone.sendTampered();
        await sleep(1000);
        await phone.press(card);
        await sleep(1000);
        await phone.press('1230');
        await sleep(400);
        await phone.press('123');
        const result = await run;
        const datagrams = await capture.stop();
        expect(result.exitCode, `${result.errors}\n${result.stdout.slice(-1500)}`).toBe(0);
        const payments = (await system.api<{ payments: { status: string; cardLast4: string }[] }>(`/api/v1/payments?reference=${reference}`)).payments;
        expect(payments).toMatchObject([{ status: 'approved', cardLast4: last4 }]);

        // The phone's events as tcpdump saw them: every one there, none with its plain payload.
        const view = new RtpPacketView();
        const toSystem = datagrams.filter((d) => d.destinationPort === systemPort).map((d) => d.payload);
        const onWire = toSystem.filter((d) => view.read(d).payloadType === SRTP_PHONE_EVENT_PT);
        // The replayed packet is there twice, byte for byte.
        expect(onWire.length).toBe(phone.sentEvents.length + 1);
        const events = onWire.filter((d, i) => onWire.findIndex((e) => e.equals(d)) === i);
        expect(events.length).toBe(phone.sentEvents.length);
        const sent = new Map(phone.sentEvents.map((e) => [e.sequenceNumber, e.payload]));
        for (const datagram of events) {
          view.read(datagram);
          expect(view.payloadLength).toBe(4 + 10);
          const plain = sent.get(view.sequenceNumber) as Buffer;
          expect(datagram.subarray(view.payloadOffset, view.payloadOffset + 4).equals(plain)).toBe(false);
        }
        // Decrypted under the phone's key, the same capture gives back every event, in order.
        const receiver = new SrtpContext(phone.key.suite, phone.key.masterKey, phone.key.masterSalt, 'inbound');
        const recovered = events.map((d) => {
          view.read(receiver.unprotect(d));
          return { sequenceNumber: view.sequenceNumber, payload: Buffer.from(view.buffer.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength)) };
        });
        expect(recovered).toEqual(phone.sentEvents);

        // The system's media to the phone: SRTP under the key of its answer, every packet authenticated.
        const fromSystem = datagrams.filter((d) => d.sourcePort === systemPort);
        expect(fromSystem.length).toBeGreaterThan(100);
        expect(fromSystem.every((d) => d.payload.length === 12 + 160 + 10)).toBe(true);
        expect(phone.received.length).toBeGreaterThan(100);
        expect(phone.rejected).toBe(0);
        expect(new Set(phone.received.map((p) => p.payloadType))).toEqual(new Set([0]));
      } finally {
        await phone.close();
      }
    });

    it('SRTP=mandatory refuses a plain RTP/AVP offer over TLS with 488', async () => {
      const relay = await callerRelay();
      const port = await sippPorts.next();
      const result = await runSipp({
        args: [`127.0.0.1:${relay.port}`, '-t', 't1', '-sf', join(SCENARIOS, 'uac-offer-refused.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1',
          '-key', 'profile', 'RTP/AVP', '-key', 'attribute', 'a=ptime:20'],
        timeoutMs: 20_000,
      });
      expect(result.exitCode, `${result.errors}\n${result.stdout.slice(-1500)}`).toBe(0);
      expect(system.output.some((l) => l.includes('"reason":"plain-offer"') && l.includes('tls:127.0.0.1'))).toBe(true);
    });

    it('an a=crypto offered over plain UDP is refused with 488 and logged without its key', async () => {
      const key = writeSdesCrypto(newSdesCrypto(1, 'AES_CM_128_HMAC_SHA1_80'));
      keysSeen.push(key.split('inline:')[1] as string);
      const port = await sippPorts.next();
      const result = await runSipp({
        args: [`127.0.0.1:${sipPort}`, '-t', 'u1', '-sf', join(SCENARIOS, 'uac-offer-refused.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1',
          '-key', 'profile', 'RTP/SAVP', '-key', 'attribute', `a=crypto:${key}`],
        timeoutMs: 20_000,
      });
      expect(result.exitCode, `${result.errors}\n${result.stdout.slice(-1500)}`).toBe(0);
      const line = system.output.find((l) => l.includes('"reason":"insecure-transport"') && l.includes(`udp:127.0.0.1:${port}`));
      expect(line).toContain('RFC 4568 §8.3');
    });
  });

  it('counts the discarded SRTP packets in /metrics: each call\'s replay and tampered packet', async () => {
    const text = await (await fetch(`${system.httpUrl}/metrics`)).text();
    const value = (reason: string): number => Number(new RegExp(`^payment_ivr_srtp_packets_discarded_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    expect(value('authentication')).toBe(2);
    expect(value('replay')).toBe(2);
  });

  it('left no SRTP key and no card number in any log line', () => {
    const log = system.output.join('\n');
    expect(keysSeen.length).toBe(5);
    for (const key of keysSeen) {
      expect(log.includes(key)).toBe(false);
      expect(log.includes(Buffer.from(key, 'base64').toString('hex'))).toBe(false);
    }
    expect(findCardDataInText(log, [VISA, MASTERCARD])).toEqual([]);
  });
});
