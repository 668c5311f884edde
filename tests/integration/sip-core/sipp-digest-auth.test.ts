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
import { freePort, killAllSipp, SippPortSequence, startSipp } from '../../../tools/sipp/sipp-process.js';

/**
 * Digest authentication of our calls out (the agent call-back; RFC 3261
 * §22): a SIPp UAS as the PBX challenges the first INVITE with 401 (or 407),
 * checks the credentials of the second with SIPp's own verifyauth (MD5,
 * qop=auth) and answers 200 — or challenges again, which must end the call.
 * The embedded media server dials with SIP_OUTBOUND_AUTH's credentials.
 */
const SCENARIO_401 = join(projectRoot(), 'tests/sipp/pbx-digest-uas.xml');
/** The account the scenario checks (a test value, fixed in the scenario). */
const USER = 'ivr';
const PASSWORD = 'pbx-test-password';

describe('Digest authentication towards a PBX (SIPp UAS)', () => {
  const work = mkdtempSync(join(tmpdir(), 'sip-digest-'));
  const scenario407 = join(work, 'pbx-digest-407.xml');
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
    pbxPorts = [await sippPorts.next(), await sippPorts.next(), await sippPorts.next()];
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
      },
    });
    await server.start();
  });
  afterEach(() => killAllSipp());
  afterAll(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  function pbx(port: number, variant: 401 | 407) {
    return startSipp(['-sf', variant === 401 ? SCENARIO_401 : scenario407, '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', '-trace_msg', '-message_file', join(work, `pbx-${port}.log`)]);
  }

  /** The Proxy-Authorization SIPp received, checked against RFC 2617 §3.2.2.1 computed here (MD5, qop=auth). */
  function checkTracedCredentials(port: number): void {
    const trace = readFileSync(join(work, `pbx-${port}.log`), 'latin1');
    const header = /^Proxy-Authorization: (.*)$/m.exec(trace)?.[1];
    expect(header).toBeDefined();
    const p = parseAuthChallenge(header!.trim()).params;
    const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
    const ha1 = md5(`${USER}:pbx.test:${PASSWORD}`);
    const ha2 = md5(`INVITE:${p.get('uri')}`);
    expect(p.get('uri')).toBe(`sip:agent@127.0.0.1:${port}`);
    expect(p.get('response')).toBe(md5(`${ha1}:${p.get('nonce')}:${p.get('nc')}:${p.get('cnonce')}:auth:${ha2}`));
  }

  for (const [index, variant] of [[0, 401], [1, 407]] as const) {
    it(`${variant}: the INVITE again with credentials that verify (401: by SIPp's verifyauth; 407: in SIPp's trace); answered, then hung up`, async () => {
      const port = pbxPorts[index]!;
      const phone = pbx(port, variant);
      const leg = await server.dial(`sip:agent@127.0.0.1:${port}`, { timeoutMs: 10_000 });
      await leg.hangup();
      const run = await phone.done;
      expect(run.exitCode, run.stdout.slice(-1500)).toBe(0);
      if (variant === 407) checkTracedCredentials(port);
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
