import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedMediaServer } from '../../../media-server/embedded/embedded-media-server.js';
import { parseAuthChallenge } from '../../../media-server/embedded/sip/message/index.js';
import { DialError } from '../../../media-server/media-server-errors.js';
import { projectRoot } from '../../../app/project-root.js';
import { freePort, keyStepsInjection, killAllSipp, runSipp, SippPortSequence, startSipp } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { TEST_CARDS } from '../../../tools/test-cards.js';
import WebSocket from 'ws';
import { findCardDataInText } from '../../support/card-scan.js';
import { testDataDir } from '../../support/test-data-dir.js';

/**
 * Digest authentication of our calls out (the agent call-back; RFC 3261
 * §22): a SIPp UAS as the PBX challenges the first INVITE with 401 (or 407),
 * checks the credentials of the second with SIPp's own verifyauth (MD5,
 * qop=auth) and answers 200 — or challenges again, which must end the call.
 * A third variant offers MD5 then SHA-256 (RFC 8760): the answer must use
 * SHA-256, checked in SIPp's trace.
 * The embedded media server dials with SIP_OUTBOUND_AUTH's credentials.
 */
const SCENARIO_401 = join(projectRoot(), 'tests/sipp/pbx-digest-uas.xml');
/** The account the scenario checks (a test value, fixed in the scenario). */
const USER = 'ivr';
const PASSWORD = 'pbx-test-password';

describe('Digest authentication towards a PBX (SIPp UAS)', () => {
  const work = mkdtempSync(join(tmpdir(), 'sip-digest-'));
  const scenario407 = join(work, 'pbx-digest-407.xml');
  const scenarioSha256 = join(work, 'pbx-digest-sha256.xml');
  const sippPorts = new SippPortSequence(38000);
  const logLines: string[] = [];
  let server: EmbeddedMediaServer;
  let pbxPorts: number[];

  beforeAll(async () => {
    // The 407 variant: SIPp reads status codes at load time (see the scenario's comment).
    const proxy = readFileSync(SCENARIO_401, 'utf8')
      .replaceAll('SIP/2.0 401 Unauthorized', 'SIP/2.0 407 Proxy Authentication Required')
      .replaceAll('WWW-Authenticate:', 'Proxy-Authenticate:')
      .replaceAll('header="Authorization:"', 'header="Proxy-Authorization:"')
      // SIPp's verifyauth reads only Authorization: this variant answers, and the test checks the trace.
      .replace(/<verifyauth[^>]*\/>/, '')
      .replace('<nop test="authvalid" next="accepted"/>', '<nop next="accepted"/>');
    writeFileSync(scenario407, proxy);
    // The SHA-256 variant (RFC 7616 §3.7, RFC 8760): MD5 offered first, SHA-256 second; the stronger must be taken.
    // verifyauth knows only MD5: the test checks the trace.
    const sha256 = readFileSync(SCENARIO_401, 'utf8')
      .replace(/^(\s*)(WWW-Authenticate: Digest realm="pbx.test", nonce="\[pid\]n\[call_number\]x4b7c9a", opaque="sippop", )algorithm=MD5(, qop="auth")$/m,
        '$1$2algorithm=MD5$3\n$1$2algorithm=SHA-256$3')
      .replace(/<verifyauth[^>]*\/>/, '')
      .replace('<nop test="authvalid" next="accepted"/>', '<nop next="accepted"/>');
    writeFileSync(scenarioSha256, sha256);
    pbxPorts = [await sippPorts.next(), await sippPorts.next(), await sippPorts.next(), await sippPorts.next()];
    const sipPort = await freePort(40000);
    const rtpBase = 43000 + (sipPort % 1000) * 2;
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (logLines.push(chunk.toString()), done()) });
    server = new EmbeddedMediaServer({
      sipHost: '127.0.0.1',
      sipPort,
      rtpPortMin: rtpBase,
      rtpPortMax: rtpBase + 100,
      logger: pino({ level: 'debug' }, sink),
      outboundAuth: {
        [`127.0.0.1:${pbxPorts[0]}`]: { username: USER, password: PASSWORD },
        [`127.0.0.1:${pbxPorts[1]}`]: { username: USER, password: PASSWORD },
        [`127.0.0.1:${pbxPorts[2]}`]: { username: USER, password: 'not-the-password' },
        [`127.0.0.1:${pbxPorts[3]}`]: { username: USER, password: PASSWORD },
      },
    });
    await server.start();
  });
  afterEach(() => killAllSipp());
  afterAll(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  function pbx(port: number, variant: 401 | 407 | 'sha-256') {
    const scenario = { 401: SCENARIO_401, 407: scenario407, 'sha-256': scenarioSha256 }[variant];
    return startSipp(['-sf', scenario, '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', '-trace_msg', '-message_file', join(work, `pbx-${port}.log`)]);
  }

  /**
   * The credentials SIPp received in `header`, checked against RFC 7616 §3.4.1
   * computed here (qop=auth): `algorithm` named, the response over HA1 and HA2
   * with that hash (RFC 2617 §3.2.2.1 for MD5).
   */
  function checkTracedCredentials(port: number, header: 'Authorization' | 'Proxy-Authorization', algorithm: 'MD5' | 'SHA-256'): void {
    const trace = readFileSync(join(work, `pbx-${port}.log`), 'latin1');
    const value = new RegExp(`^${header}: (.*)$`, 'm').exec(trace)?.[1];
    expect(value).toBeDefined();
    const p = parseAuthChallenge(value!.trim()).params;
    const hash = (s: string): string => createHash(algorithm === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');
    const ha1 = hash(`${USER}:pbx.test:${PASSWORD}`);
    const ha2 = hash(`INVITE:${p.get('uri')}`);
    expect(p.get('algorithm')).toBe(algorithm);
    expect(p.get('uri')).toBe(`sip:agent@127.0.0.1:${port}`);
    expect(p.get('response')).toBe(hash(`${ha1}:${p.get('nonce')}:${p.get('nc')}:${p.get('cnonce')}:auth:${ha2}`));
  }

  for (const [index, variant] of [[0, 401], [1, 407], [3, 'sha-256']] as const) {
    it(`${variant}: the INVITE again with credentials that verify (401 MD5: by SIPp's verifyauth; 407 MD5 and 401 SHA-256: in SIPp's trace); answered, then hung up`, async () => {
      const port = pbxPorts[index]!;
      const phone = pbx(port, variant);
      const leg = await server.dial(`sip:agent@127.0.0.1:${port}`, { timeoutMs: 10_000 });
      await leg.hangup();
      const run = await phone.done;
      expect(run.exitCode, run.stdout.slice(-1500)).toBe(0);
      if (variant === 407) checkTracedCredentials(port, 'Proxy-Authorization', 'MD5');
      if (variant === 'sha-256') checkTracedCredentials(port, 'Authorization', 'SHA-256');
    });
  }

  it('wrong credentials: challenged again, not retried, the dial rejected; the log names the target, never the password', async () => {
    const port = pbxPorts[2]!;
    const phone = pbx(port, 401);
    const dialled = server.dial(`sip:agent@127.0.0.1:${port}`, { timeoutMs: 10_000 });
    await expect(dialled).rejects.toBeInstanceOf(DialError);
    await expect(dialled).rejects.toMatchObject({ reason: 'rejected', status: 401 });
    // SIPp's bad-credentials branch ends after the ACK of its second challenge.
    expect((await phone.done).exitCode).toBe(0);
    const line = logLines.find((l) => l.includes('refused our credentials') && l.includes(`127.0.0.1:${port}`));
    expect(line).toContain(`127.0.0.1:${port}`);
    expect(logLines.join('').includes('not-the-password')).toBe(false);
    expect(logLines.join('').includes(PASSWORD)).toBe(false);
  });
});

/**
 * The same refusal end to end: the system as `npm start` starts it, with
 * SIP_OUTBOUND_AUTH holding a password the PBX does not take. The agent's
 * session names the challenging SIPp PBX; the caller (SIPp) is told no agent
 * could join, pays alone, and the console's stream says `agent-unavailable`.
 */
describe('Digest authentication refused end to end: agent-unavailable', () => {
  const work = mkdtempSync(join(tmpdir(), 'sip-digest-e2e-'));
  const sippPorts = new SippPortSequence(38500);
  let system: RunningSystem;
  let pbxPort: number;

  beforeAll(async () => {
    pbxPort = await sippPorts.next();
    const rtpBase = 47000 + Number(process.env.VITEST_POOL_ID ?? '1') * 100;
    system = await startSystem({
      DATA_DIR: testDataDir('sip-digest-e2e'),
      HTTP_PORT: String(await freePort(32000)),
      SIP_PORT: String(await freePort(36000)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 98),
      SIP_OUTBOUND_AUTH: JSON.stringify({ [`127.0.0.1:${pbxPort}`]: { username: USER, password: 'not-the-password' } }),
      LOG_LEVEL: 'debug',
      SANDBOX_LATENCY_MS: '50',
    });
  });
  afterAll(async () => {
    killAllSipp();
    await system?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  function framesOf(sessionId: string): Promise<{ event: { type: string; reason?: string } }[]> {
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

  it('the PBX challenges again; the call-back ends, the stream says agent-unavailable (rejected), the caller pays alone', { timeout: 60_000 }, async () => {
    const pbx = startSipp(['-sf', SCENARIO_401, '-i', '127.0.0.1', '-p', String(pbxPort), '-mp', String(pbxPort + 2), '-m', '1']);
    const session = await system.post<{ id: string; code: string }>('/api/v1/sessions', { amount: 1990, currency: 'EUR', reference: 'DIGEST-REFUSED', agentUri: `sip:agent@127.0.0.1:${pbxPort}` });
    const callerPort = await sippPorts.next();
    const steps = keyStepsInjection(join(work, 'keys.csv'), [TEST_CARDS.visa, 1500], ['1230', 800], ['123', 500]);
    const run = await runSipp({
      args: [`127.0.0.1:${system.sipPort}`, '-sf', join(projectRoot(), 'tests/sipp/direct-pay-keys.xml'), '-s', `pay-${session.code}`, '-i', '127.0.0.1', '-p', String(callerPort), '-mp', String(callerPort + 2), '-m', '1', ...steps],
      timeoutMs: 50_000,
    });
    expect(run.exitCode, run.errors || run.stdout.slice(-1500)).toBe(0);
    // The PBX's bad-credentials branch: a second 401, its ACK, the end.
    expect((await pbx.done).exitCode).toBe(0);
    const frames = await framesOf(session.id);
    expect(frames.find((f) => f.event.type === 'agent-unavailable')?.event).toEqual({ type: 'agent-unavailable', reason: 'rejected' });
    expect(frames.some((f) => f.event.type === 'agent-connected')).toBe(false);
    expect((await system.api<{ status: string }>(`/api/v1/sessions/${session.id}`)).status).toBe('approved');
    const log = system.output.join('\n');
    expect(system.output.some((l) => l.includes('refused our credentials') && l.includes(`127.0.0.1:${pbxPort}`))).toBe(true);
    expect(log.includes('not-the-password')).toBe(false);
    expect(findCardDataInText(log, [TEST_CARDS.visa])).toEqual([]);
  });
});
