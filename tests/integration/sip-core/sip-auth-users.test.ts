import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { freePort, killAllSipp, runSipp, SippPortSequence } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { TEST_CARDS } from '../../../tools/test-cards.js';
import { BaresipPhone, killAllBaresip } from '../../support/baresip-phone.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { makeTestCertificates, type TestCertificates } from '../../support/test-certificates.js';
import { testDataDir } from '../../support/test-data-dir.js';

const REALM = 'payment-ivr';
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
/** Test accounts (test values). MD5 only: SIPp 3.6.1 and baresip 1.0 (libre 1.1) answer nothing stronger. */
const ACCOUNTS = { caller: 'caller-test-passphrase', 'sipp-user': 'sipp-test-passphrase' } as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * SIP_AUTH_USERS end to end: the system with SIP_ALLOW that leaves
 * loopback out, so every test client is an outsider that must authenticate
 * with Digest. baresip (not ours) answers the challenge and pays over TLS
 * and SRTP; SIPp with a wrong password is challenged again, then locked
 * out after five failures (the console logins' rule), the right password
 * included; another user from the same source still gets in.
 */
describe('SIP_AUTH_USERS: callers outside SIP_ALLOW authenticate with Digest', () => {
  const work = mkdtempSync(join(tmpdir(), 'sip-auth-users-'));
  const sippPorts = new SippPortSequence(38700);
  let certs: TestCertificates;
  let system: RunningSystem;
  let tlsPort: number;

  beforeAll(async () => {
    certs = makeTestCertificates();
    writeFileSync(join(work, 'orders.json'), JSON.stringify([{ reference: '6001', amountMinor: 1500, currency: 'EUR', description: 'authenticated order' }]));
    const users = Object.fromEntries(Object.entries(ACCOUNTS).map(([user, password]) => [user, { MD5: md5(`${user}:${REALM}:${password}`) }]));
    const rtpBase = 59000 + Number(process.env.VITEST_POOL_ID ?? '1') * 100;
    tlsPort = await freePort(35000);
    system = await startSystem({
      DATA_DIR: testDataDir('sip-auth-users'),
      HTTP_PORT: String(await freePort(32000)),
      SIP_PORT: String(await freePort(36000)),
      SIP_TLS_PORT: String(tlsPort),
      SIP_TLS_CERT: certs.certFile,
      SIP_TLS_KEY: certs.keyFile,
      SRTP: 'optional',
      // TEST-NET-1: no test client is inside, loopback included.
      SIP_ALLOW: '192.0.2.0/24',
      SIP_AUTH_USERS: JSON.stringify(users),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 98),
      ORDERS_FILE: join(work, 'orders.json'),
      LOG_LEVEL: 'debug',
      SANDBOX_LATENCY_MS: '50',
    });
  });

  afterAll(async () => {
    killAllSipp();
    killAllBaresip();
    await system?.stop();
    certs?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  /** One SIPp call answering the challenge with `username`/`password`: the status of the answer to its credentials. */
  async function attempt(username: string, password: string): Promise<number> {
    const port = await sippPorts.next();
    const trace = join(work, `attempt-${port}.log`);
    const run = await runSipp({
      args: [`127.0.0.1:${system.sipPort}`, '-sf', join(projectRoot(), 'tests/sipp/caller-digest-auth.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1',
        '-au', username, '-ap', password, '-trace_msg', '-message_file', trace],
      timeoutMs: 20_000,
    });
    expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
    // The final answer to the INVITE with credentials (CSeq 2), or to the first one when refused at once.
    const answers = [...readFileSync(trace, 'latin1').matchAll(/^SIP\/2\.0 (\d{3}) [^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*?CSeq: (\d) INVITE/gm)]
      .map((m) => ({ status: Number(m[1]), cseq: Number(m[2]) }))
      .filter((a) => a.status >= 200);
    return answers.at(-1)!.status;
  }

  it('baresip answers the 401 and pays over TLS with SRTP: approved; the log names the user, never a secret', { timeout: 90_000 }, async () => {
    const phone = await BaresipPhone.start({ user: 'caller', caFile: certs.caFile, voice: new Int16Array(8000 * 60), password: ACCOUNTS.caller });
    try {
      phone.dial(`sip:pay@127.0.0.1:${tlsPort};transport=tls`);
      await phone.event('CALL_ESTABLISHED', 15_000);
      expect((await phone.event('CALL_MENC', 1000)).param).toMatch(/AES_CM_128_HMAC_SHA1_(80|32)/);
      await sleep(800);
      await phone.press('6001#');
      await sleep(1000);
      await phone.press(TEST_CARDS.visa);
      await sleep(1000);
      await phone.press('1230');
      await sleep(400);
      await phone.press('123');
      await phone.event('CALL_CLOSED', 40_000);
      // baresip's own trace: challenged, then its credentials.
      expect(phone.output).toMatch(/^SIP\/2\.0 401 Unauthorized/m);
      expect(phone.output).toMatch(/^Authorization: Digest username="caller"/m);
    } finally {
      await phone.stop();
    }
    const payments = (await system.api<{ payments: { status: string }[] }>('/api/v1/payments?reference=6001')).payments;
    expect(payments).toMatchObject([{ status: 'approved' }]);
    expect(system.output.some((l) => l.includes('INVITE from outside SIP_ALLOW authenticated') && l.includes('"username":"caller"') && l.includes('tls:127.0.0.1'))).toBe(true);
  });

  it('a wrong password: challenged again four times, locked out at the fifth failure, then even the right password gets 403; another user still gets in', { timeout: 90_000 }, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(await attempt('sipp-user', 'not-the-passphrase'));
    statuses.push(await attempt('sipp-user', ACCOUNTS['sipp-user']));
    expect(statuses).toEqual([401, 401, 401, 401, 403, 403]);
    // The source is not locked (50 failures for that): another user's right credentials are taken.
    expect(await attempt('caller', ACCOUNTS.caller)).toBe(200);
    const refused = system.output.filter((l) => l.includes('Digest credentials refused') && l.includes('"username":"sipp-user"'));
    expect(refused).toHaveLength(4);
    expect(refused.every((l) => l.includes('"reason":"wrong-response"'))).toBe(true);
    expect(system.output.filter((l) => l.includes('too many failed Digest logins') && l.includes('"username":"sipp-user"'))).toHaveLength(2);
  });

  it('left no password, no HA1 and no card number in any log line', () => {
    const log = system.output.join('\n');
    for (const [user, password] of Object.entries(ACCOUNTS)) {
      expect(log.includes(password)).toBe(false);
      expect(log.includes(md5(`${user}:${REALM}:${password}`))).toBe(false);
    }
    expect(log.includes('not-the-passphrase')).toBe(false);
    expect(findCardDataInText(log, [TEST_CARDS.visa])).toEqual([]);
  });
});
