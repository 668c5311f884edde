import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApplication, type Application } from '../../../app/application.js';
import { loadConfig } from '../../../app/config.js';
import { createLogger } from '../../../app/logger.js';
import { METRIC_PREFIX } from '../../../app/metrics.js';
import { projectRoot } from '../../../app/project-root.js';
import { findCardDataInFiles, findCardDataInText } from '../../support/card-scan.js';
import { parsePrometheusText, sampleValue, type PromSample } from '../../support/prometheus-text.js';
import { killAllSipp, runSipp, SippPortSequence } from '../../../tools/sipp/sipp-process.js';
import { testDataDir } from '../../support/test-data-dir.js';

// The public Visa test card (the sandbox approves it), put together here rather than kept in a file.
const VISA = ['4242', '4242', '4242', '4242'].join('');
const REFERENCE = '1001';
const EXPIRY = '1230';
const CODE = '123';
/** Every key the caller presses: the reference and #, then the three card fields. */
const KEYS = `${REFERENCE}#${VISA}${EXPIRY}${CODE}`;

const m = (name: string): string => `${METRIC_PREFIX}${name}`;

/** A non-loopback IPv4 address of this host, to be a client from off the host; undefined when there is none. */
const OUTSIDE = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

/** GET /metrics from `localAddress` (the client's source address) to the system at `host`. */
function getMetrics(host: string, port: number, localAddress: string, authorization?: string): Promise<{ status: number; body: string; wwwAuthenticate?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path: '/metrics', localAddress, headers: authorization ? { authorization } : {} },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, ...(res.headers['www-authenticate'] ? { wwwAuthenticate: res.headers['www-authenticate'] } : {}) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * The metrics of the running system after one real call: the system built
 * in-process as `npm start` builds it (embedded media server, sandbox PSP),
 * one SIPp caller paying order 1001 by RFC 4733 keys, then /metrics scraped
 * as Prometheus would and checked against that call. Who may scrape: a
 * loopback client freely, a client from off the host only with a bearer
 * token.
 */
describe('Prometheus metrics after a SIPp direct-pay call', () => {
  const dataDir = testDataDir('metrics');
  const metricsToken = randomBytes(24).toString('base64url');
  const adminKey = randomBytes(24).toString('base64url');
  const lines: string[] = [];
  const ports = new SippPortSequence(42000);
  let app: Application;
  let httpPort: number;

  beforeAll(async () => {
    const rtpBase = 61000 + Number(process.env.VITEST_POOL_ID ?? '1') * 200;
    const config = loadConfig({
      DATA_DIR: dataDir,
      // Every interface, so a client can come from a non-loopback address of this host.
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: '0',
      SIP_PORT: '0',
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 38),
      SANDBOX_LATENCY_MS: '50',
      METRICS_TOKEN: metricsToken,
      ADMIN_API_KEY: adminKey,
      RECORDING: 'off',
      LOG_LEVEL: 'debug',
      SHUTDOWN_DRAIN_SECONDS: '1',
    });
    app = await buildApplication({ config, logger: createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } }), dataDir });
    httpPort = Number(new URL(app.httpUrl).port);
  });

  afterAll(async () => {
    killAllSipp();
    await app?.stop();
  });

  async function scrape(): Promise<{ text: string; samples: PromSample[] }> {
    const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, samples: parsePrometheusText(text) };
  }

  it('counts the call, the approved payment, the keys by method, RTP packets and the time to pay', { timeout: 60_000 }, async () => {
    const before = (await scrape()).samples;
    expect(sampleValue(before, m('dtmf_total'), { method: 'rfc4733' })).toBe(0);
    expect(sampleValue(before, m('time_to_pay_seconds_count'))).toBeUndefined();

    const port = await ports.next();
    const run = await runSipp({
      args: [
        `127.0.0.1:${app.sipPort}`,
        '-sf', join(projectRoot(), 'tests/sipp/direct-pay-rfc4733.xml'),
        '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1',
        '-key', 'ref', REFERENCE, '-key', 'pan', VISA, '-key', 'exp', EXPIRY, '-key', 'cvv', CODE,
      ],
      timeoutMs: 50_000,
    });
    expect(run.exitCode, run.errors || run.stdout.slice(-800)).toBe(0);
    expect((await app.store.listSessions({ reference: REFERENCE })).map((s) => s.status)).toEqual(['approved']);

    // The call's end is counted once the flow has released it, which the caller's BYE does not wait for.
    let scraped = await scrape();
    for (let i = 0; i < 100 && sampleValue(scraped.samples, m('calls_total')) !== 1; i++) {
      await new Promise((r) => setTimeout(r, 50));
      scraped = await scrape();
    }
    const { samples, text } = scraped;

    expect(sampleValue(samples, m('calls_total'), { mode: 'direct', outcome: 'approved' })).toBe(1);
    expect(sampleValue(samples, m('calls_total'))).toBe(1);
    expect(sampleValue(samples, m('calls_active'))).toBe(0);
    expect(sampleValue(samples, m('payments_total'), { mode: 'direct', status: 'approved' })).toBe(1);
    expect(sampleValue(samples, m('payments_total'))).toBe(1);
    expect(sampleValue(samples, m('card_prompt_reached_total'), { mode: 'direct' })).toBe(1);
    expect(sampleValue(samples, m('field_errors_total'))).toBeUndefined();
    expect(sampleValue(samples, m('dtmf_total'), { method: 'rfc4733' })).toBeGreaterThanOrEqual(KEYS.length);
    expect(sampleValue(samples, m('dtmf_total'), { method: 'info' })).toBe(0);
    expect(sampleValue(samples, m('time_to_pay_seconds_count'), { mode: 'direct' })).toBe(1);
    expect(sampleValue(samples, m('time_to_pay_seconds_sum'), { mode: 'direct' })).toBeGreaterThan(0);
    expect(sampleValue(samples, m('psp_request_duration_seconds_count'), { psp: 'sandbox', outcome: 'approved' })).toBe(1);
    expect(sampleValue(samples, m('rtp_packets_total'), { direction: 'in' })).toBeGreaterThan(0);
    expect(sampleValue(samples, m('rtp_packets_total'), { direction: 'out' })).toBeGreaterThan(0);
    expect(sampleValue(samples, m('rtp_packets_late_total'))).toBeGreaterThanOrEqual(0);
    expect(sampleValue(samples, m('rtp_packets_lost_total'))).toBeGreaterThanOrEqual(0);
    expect(sampleValue(samples, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(samples, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    // The /readyz checks, each passing, and no authorisation left in doubt.
    for (const check of ['store', 'media-server', 'accepting', 'psp']) expect(sampleValue(samples, m('ready'), { check })).toBe(1);
    expect(sampleValue(samples, m('payments_in_doubt'))).toBe(0);

    // Labels are the domain's fixed words only: no card data, reference, session or call id.
    const labelValues = new Set(samples.filter((s) => s.name.startsWith(METRIC_PREFIX)).flatMap((s) => Object.values(s.labels)));
    const session = (await app.store.listSessions({ reference: REFERENCE }))[0]!;
    for (const value of labelValues) expect(value).toMatch(/^([a-z][a-z0-9_-]*|\+Inf|\d+(\.\d+)?)$/);
    for (const secret of [session.id, session.callId, session.pspReference, REFERENCE]) expect(labelValues.has(String(secret))).toBe(false);
    expect(findCardDataInText(text, [VISA])).toEqual([]);
    expect(findCardDataInText(lines.join('\n'), [VISA])).toEqual([]);
    expect(findCardDataInFiles(dataDir, [VISA])).toEqual([]);
  });

  it.skipIf(!OUTSIDE)('refuses a client from off the host without a token, and serves it with the metrics token or the admin key', async () => {
    const outside = OUTSIDE as string;
    const refused = await getMetrics(outside, httpPort, outside);
    expect(refused.status).toBe(401);
    expect(refused.wwwAuthenticate).toMatch(/^Bearer/);
    expect(refused.body).not.toContain(METRIC_PREFIX);
    expect((await getMetrics(outside, httpPort, outside, `Bearer ${metricsToken}x`)).status).toBe(401);
    expect((await getMetrics(outside, httpPort, outside, `Basic ${metricsToken}`)).status).toBe(401);

    const withToken = await getMetrics(outside, httpPort, outside, `Bearer ${metricsToken}`);
    expect(withToken.status).toBe(200);
    expect(withToken.body).toContain(m('calls_total'));
    expect((await getMetrics(outside, httpPort, outside, `Bearer ${adminKey}`)).status).toBe(200);
    // The same server, from loopback: no credential needed.
    expect((await getMetrics('127.0.0.1', httpPort, '127.0.0.1')).status).toBe(200);
  });
});
