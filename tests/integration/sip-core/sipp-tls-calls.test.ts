import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { projectRoot } from '../../../app/project-root.js';
import { infoInjectionCsv } from '../../../scripts/qa-csv.js';
import { pcmuAudio, rtpTo } from '../../../tools/capture/rtp-capture.js';
import { killAllCaptures, startCapture } from '../../../tools/capture/tcpdump.js';
import { freePort, keyStepsInjection, killAllSipp, runSipp, SippPortSequence, startSipp, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { TEST_CARDS } from '../../../tools/test-cards.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { makeTestCertificates, type TestCertificates } from '../../support/test-certificates.js';
import { tcpToTlsRelay, tlsToTcpRelay, type TlsRelay } from '../../support/tls-relay.js';
import { testDataDir } from '../../support/test-data-dir.js';
import { detectKeys } from '../../unit/rtp/signals.js';

const SIPP_DIR = join(projectRoot(), 'tests/sipp');
const { visa: VISA, mastercard: MASTERCARD } = TEST_CARDS;
const EXPIRY = '1230';

/**
 * SIP over TLS end to end: the system started as `npm start` starts it,
 * with SIP_TLS_CERT/KEY (made by openssl at test time) and SIP_TLS_CA
 * trusting the test CA. Callers and the agent's phone are real SIPp
 * scenarios; SIPp has no TLS here, so a relay (tests/support/tls-relay.ts)
 * carries their TCP over TLS to and from the system. tcpdump on the TLS
 * ports shows what crossed the wire: TLS records, never a SIP line or a key.
 */
describe('SIP over TLS with SIPp behind a TLS relay', () => {
  const work = mkdtempSync(join(tmpdir(), 'sip-tls-'));
  const dataDir = testDataDir('sip-tls');
  const sippPorts = new SippPortSequence(37000);
  const relays: TlsRelay[] = [];
  let certs: TestCertificates;
  let system: RunningSystem;
  let tlsPort: number;

  beforeAll(async () => {
    certs = makeTestCertificates();
    const orders = [{ reference: '3001', amountMinor: 1999, currency: 'EUR', description: 'Order over TLS' }];
    writeFileSync(join(work, 'orders.json'), JSON.stringify(orders));
    const rtpBase = 54000 + Number(process.env.VITEST_POOL_ID ?? '1') * 200;
    tlsPort = await freePort(34000);
    system = await startSystem({
      DATA_DIR: dataDir,
      HTTP_PORT: String(await freePort(31000)),
      SIP_PORT: String(await freePort(33000)),
      SIP_TLS_PORT: String(tlsPort),
      SIP_TLS_CERT: certs.certFile,
      SIP_TLS_KEY: certs.keyFile,
      SIP_TLS_CA: certs.caFile,
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 198),
      ORDERS_FILE: join(work, 'orders.json'),
      LOG_LEVEL: 'debug',
      SANDBOX_LATENCY_MS: '50',
      AGENT_DIAL_TIMEOUT_MS: '5000',
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

  /** The caller's relay: SIPp's TCP in, TLS out to the system's TLS port. */
  async function callerRelay(): Promise<TlsRelay> {
    const relay = await tcpToTlsRelay({ port: tlsPort, ca: certs.read(certs.caFile) });
    relays.push(relay);
    return relay;
  }

  /** A SIPp caller over TCP to a relay that goes on over TLS to the system's TLS port. */
  async function callOverTls(scenario: string, service: string, extra: string[], relay?: TlsRelay): Promise<SippRun> {
    relay ??= await callerRelay();
    const port = await sippPorts.next();
    return runSipp({
      args: [`127.0.0.1:${relay.port}`, '-t', 't1', '-sf', join(SIPP_DIR, scenario), '-s', service, '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', ...extra],
      timeoutMs: 90_000,
    });
  }

  /** The agent's phone: SIPp as a TCP UAS behind a TLS relay presenting `cert`; its URI is sips:. */
  async function agentPhoneOverTls(cert: { certFile: string; keyFile: string }): Promise<{ uri: string; relayPort: number; mediaPort: number; done: Promise<SippRun> }> {
    const port = await sippPorts.next();
    const silence = join(work, `agent-${port}.ulaw`);
    writeFileSync(silence, Buffer.alloc(8000, 0xff));
    const { done } = startSipp(['-sf', join(SIPP_DIR, 'agent-phone.xml'), '-t', 't1', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', '-key', 'voice', `${silence},-1,0`]);
    const relay = await tlsToTcpRelay({ cert: certs.read(cert.certFile), key: certs.read(cert.keyFile), targetPort: port });
    relays.push(relay);
    return { uri: `sips:agent@127.0.0.1:${relay.port}`, relayPort: relay.port, mediaPort: port + 2, done };
  }

  async function framesOf(sessionId: string): Promise<{ event: { type: string; reason?: string } }[]> {
    return new Promise((resolve, reject) => {
      const frames: { event: { type: string; reason?: string } }[] = [];
      const socket = new WebSocket(`${system.httpUrl.replace('http', 'ws')}/api/v1/stream?session=${sessionId}&after=0`, {
        headers: { authorization: `Bearer ${system.adminKey}` },
      });
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { seq?: number; event: { type: string } };
        if (message.seq !== undefined) frames.push(message);
      });
      socket.on('error', reject);
      setTimeout(() => {
        socket.close();
        resolve(frames);
      }, 700);
    });
  }

  async function statusOf(id: string, wanted: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const session = await system.api<Record<string, unknown>>(`/api/v1/sessions/${id}`);
      if (session.status === wanted || Date.now() > deadline) return session;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** What tcpdump saw on these TCP ports: the raw capture file, and whether it holds any plain SIP or key. */
  function plainTextIn(capture: Buffer): string[] {
    const text = capture.toString('latin1');
    return ['INVITE ', 'INFO ', 'ACK ', 'BYE ', 'SIP/2.0', 'Signal=', 'dtmf-relay', 'application/sdp', VISA, MASTERCARD].filter((s) => text.includes(s));
  }

  /** TLS 1.2+ application-data records (content type 23, version 3.3) in the capture: the calls did go over it. */
  const tlsRecords = (capture: Buffer): number => capture.toString('latin1').split('\x17\x03\x03').length - 1;

  describe.concurrent('calls', { timeout: 100_000 }, () => {
    it('direct pay with SIP INFO keys over TLS: approved; the TLS port carries no plain SIP and no key', async () => {
      const csv = join(work, 'info.csv');
      writeFileSync(csv, infoInjectionCsv([{ reference: '3001', card: VISA, expiry: EXPIRY, securityCode: '123' }]));
      const relay = await callerRelay();
      const capture = await startCapture({ filter: `tcp and port ${tlsPort}` });
      // The control: SIPp's own hop into the relay is plain TCP, and the same check must find it.
      const plainHop = await startCapture({ filter: `tcp and port ${relay.port}` });
      const run = await callOverTls('direct-pay-info.xml', 'pay', ['-inf', csv], relay);
      await capture.stop();
      await plainHop.stop();
      expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
      const payments = (await system.api<{ payments: { id: string; status: string; cardLast4: string }[] }>('/api/v1/payments?reference=3001')).payments;
      expect(payments).toMatchObject([{ status: 'approved', cardLast4: '4242' }]);

      expect(plainTextIn(readFileSync(plainHop.path))).toEqual(expect.arrayContaining(['INVITE ', 'INFO ', 'Signal=', 'dtmf-relay']));
      const wire = readFileSync(capture.path);
      expect(plainTextIn(wire)).toEqual([]);
      // 30-odd INFOs and their 200s, the INVITE dialog and the BYE: each at least one record.
      expect(tlsRecords(wire)).toBeGreaterThan(60);
    });

    it('agent call-back to a sips: URI: the IVR calls the agent over TLS (the CA verified), keys masked, approved', async () => {
      const agent = await agentPhoneOverTls(certs);
      const session = await system.post<{ id: string; code: string }>('/api/v1/sessions', { amount: 4250, currency: 'EUR', reference: 'TLS-AGENT', agentUri: agent.uri });
      const capture = await startCapture({ filter: `tcp and (port ${tlsPort} or port ${agent.relayPort})` });
      const agentAudio = await startCapture({ filter: `udp and dst port ${agent.mediaPort}` });
      const steps = keyStepsInjection(join(work, 'agent.csv'), [MASTERCARD, 2500], [EXPIRY, 1500], ['123', 9000]);
      const run = await callOverTls('direct-pay-hangup.xml', `pay-${session.code}`, steps);
      expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
      expect((await agent.done).exitCode).toBe(0);
      await capture.stop();
      const toAgent = rtpTo(await agentAudio.stop(), agent.mediaPort);
      expect(await statusOf(session.id, 'approved')).toMatchObject({ status: 'approved', cardLast4: '4444' });
      const types = (await framesOf(session.id)).map((f) => f.event.type);
      expect(types.slice(0, 2)).toEqual(['caller-connected', 'agent-connected']);
      // The agent heard the call (still plain RTP: SRTP is another step) without a key event or tone.
      expect(toAgent.length).toBeGreaterThan(300);
      expect(toAgent.filter((p) => p.payloadType !== 0)).toEqual([]);
      expect(detectKeys(pcmuAudio(toAgent))).toEqual([]);

      const wire = readFileSync(capture.path);
      expect(plainTextIn(wire)).toEqual([]);
      expect(tlsRecords(wire)).toBeGreaterThan(10);
    });

    it('an agent whose certificate does not verify: the call-back fails with a log line naming why; the caller goes on alone', async () => {
      const agent = await agentPhoneOverTls({ certFile: certs.rogueCertFile, keyFile: certs.rogueKeyFile });
      const session = await system.post<{ id: string; code: string }>('/api/v1/sessions', { amount: 990, currency: 'EUR', reference: 'TLS-ROGUE', agentUri: agent.uri });
      const steps = keyStepsInjection(join(work, 'rogue.csv'), ['', 2500]);
      const run = await callOverTls('direct-pay-hangup.xml', `pay-${session.code}`, steps);
      expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
      const events = (await framesOf(session.id)).map((f) => f.event);
      expect(events).toEqual(expect.arrayContaining([{ type: 'agent-unavailable', reason: 'failed' }]));
      const line = system.output.find((l) => l.includes('outgoing call could not reach its target') && l.includes(agent.uri));
      expect(line).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    });
  });

  it('left no card number in any log line', () => {
    expect(findCardDataInText(system.output.join('\n'), [VISA, MASTERCARD])).toEqual([]);
  });
});
