import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApplication, type Application } from '../../../app/application.js';
import { loadConfig } from '../../../app/config.js';
import { createLogger } from '../../../app/logger.js';
import { projectRoot } from '../../../app/project-root.js';
import type { PaymentSessionRecord } from '../../../store/payment-store.js';
import { freePort, killAllSipp, runSipp, SippPortSequence, startSipp } from '../../../tools/sipp/sipp-process.js';
import { until } from '../../support/scripted-caller.js';
import { testDataDir } from '../../support/test-data-dir.js';

const ADMIN_KEY = 'r'.repeat(40);

/**
 * POST /sessions/{id}/release against real SIP: a SIPp caller (and, agent-
 * assisted, a SIPp agent phone the IVR calls back) keys what it must and
 * then waits for the BYE; the release must send it, end the payment as a
 * hang-up, and be audited with who asked.
 */
describe('releasing the caller from the API', () => {
  const dataDir = testDataDir('release-caller');
  const ports = new SippPortSequence(41000);
  let app: Application;

  beforeAll(async () => {
    const worker = Number(process.env.VITEST_POOL_ID ?? '1');
    const rtpBase = 52000 + worker * 100;
    const config = loadConfig({
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      SIP_PORT: String(await freePort(40000)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 98),
      LOG_LEVEL: 'silent',
      ADMIN_API_KEY: ADMIN_KEY,
      SANDBOX_LATENCY_MS: '0',
      // The caller keys no card: nothing but the release may end the call.
      FIRST_DIGIT_TIMEOUT_MS: '60000',
    });
    app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
  }, 30_000);

  afterAll(async () => {
    killAllSipp();
    await app?.stop();
  }, 30_000);

  const api = (path: string, body?: unknown) =>
    fetch(`${app.httpUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  /** A SIPp caller that keys `keys` after answer and waits for our BYE from then on. */
  async function caller(service: string, keys: string) {
    const port = await ports.next();
    return runSipp({
      args: [
        `127.0.0.1:${app.sipPort}`,
        '-sf', join(projectRoot(), 'tests/integration/direct-pay/caller-awaits-release.xml'),
        '-s', service,
        '-i', '127.0.0.1',
        '-p', String(port),
        '-mp', String(port + 2),
        '-m', '1',
        '-key', 'keys', keys,
      ],
      timeoutMs: 40_000,
    });
  }

  async function capturing(find: () => Promise<PaymentSessionRecord | undefined>): Promise<PaymentSessionRecord> {
    await until(async () => (await find())?.status === 'capturing', 15_000, 'the card number prompt');
    return (await find())!;
  }

  it('direct pay: hangs up the caller at the card prompt; the payment ends as abandoned, the release audited', { timeout: 45_000 }, async () => {
    const call = caller('pay', '1001#');
    const session = await capturing(async () => (await app.store.listSessions({ reference: '1001', limit: 1 }))[0]);
    const res = await api(`/api/v1/sessions/${session.id}/release`, {});
    expect(res.status).toBe(202);
    const run = await call;
    expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
    await until(async () => (await app.store.getSession(session.id))!.status === 'abandoned', 5000, 'the payment to end');
    const actions = (await app.audit.list({ sessionId: session.id })).map((e) => `${e.action}:${e.actor.kind}`);
    expect(actions).toContain('caller-released:api-key');
    expect(actions).toContain('caller-hung-up:call');
    // Nobody is on the line any more.
    expect(await (await api(`/api/v1/sessions/${session.id}/release`, {})).json()).toEqual({ error: 'caller-not-joined' });
  });

  it("agent-assisted: hangs up the caller, and the IVR's call-back to the agent ends with it", { timeout: 45_000 }, async () => {
    const agentPort = await ports.next();
    const phone = startSipp([
      '-sf', join(projectRoot(), 'tests/integration/console/agent-phone-answer.xml'),
      '-i', '127.0.0.1',
      '-p', String(agentPort),
      '-mp', String(agentPort + 2),
      '-m', '1',
    ]).done;
    const created = (await (await api('/api/v1/sessions', { amount: 1500, currency: 'EUR', reference: 'INV-REL', agentUri: `sip:agent@127.0.0.1:${agentPort}` })).json()) as {
      id: string;
      code: string;
    };
    expect((await api(`/api/v1/sessions/${created.id}/release`, {})).status).toBe(409);
    const call = caller(`pay-${created.code}`, '');
    await capturing(() => app.store.getSession(created.id));
    expect((await api(`/api/v1/sessions/${created.id}/release`, {})).status).toBe(202);
    const run = await call;
    expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
    const agent = await phone;
    expect(agent.exitCode, agent.stdout.slice(-1500)).toBe(0);
    await until(async () => (await app.store.getSession(created.id))!.status === 'abandoned', 5000, 'the payment to end');
    expect((await app.audit.list({ sessionId: created.id })).map((e) => e.action)).toEqual(expect.arrayContaining(['caller-released', 'agent-connected']));
  });
});
