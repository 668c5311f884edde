import { describe, expect, it } from 'vitest';
import { Metrics, METRIC_PREFIX, type RtpPacketTotals } from '../../../app/metrics.js';
import { parsePrometheusText, sampleValue, type PromSample } from '../../support/prometheus-text.js';

async function scrape(metrics: Metrics): Promise<PromSample[]> {
  return parsePrometheusText((await metrics.render()).body);
}

const m = (name: string): string => `${METRIC_PREFIX}${name}`;

describe('Metrics', () => {
  it('counts calls by entry mode and outcome, with the active calls back at 0 when they end', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.callStarted('direct');
    metrics.callStarted('direct');
    metrics.callStarted('agent-assisted');
    expect(sampleValue(await scrape(metrics), m('calls_active'), { mode: 'direct' })).toBe(2);

    metrics.callEnded('direct', 'approved');
    metrics.callEnded('direct', 'caller-hung-up');
    metrics.callEnded('agent-assisted', 'unknown-session');
    const samples = await scrape(metrics);
    expect(sampleValue(samples, m('calls_total'), { mode: 'direct', outcome: 'approved' })).toBe(1);
    expect(sampleValue(samples, m('calls_total'), { mode: 'direct', outcome: 'caller-hung-up' })).toBe(1);
    expect(sampleValue(samples, m('calls_total'), { mode: 'agent-assisted', outcome: 'unknown-session' })).toBe(1);
    expect(sampleValue(samples, m('calls_active'))).toBe(0);
  });

  it('counts payments by status, card prompts, field errors by field and type, and keys by method', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.cardPromptReached('direct');
    metrics.cardPromptReached('direct');
    metrics.paymentEnded('direct', 'approved');
    metrics.paymentEnded('agent-assisted', 'in_doubt');
    metrics.fieldError('card-number', 'invalid-card-number');
    metrics.fieldError('card-number', 'invalid-card-number');
    metrics.fieldError('expiry', 'input-timeout');
    for (let i = 0; i < 5; i++) metrics.dtmf('rfc4733');
    metrics.dtmf('info');
    metrics.keyDiscarded('direct');
    metrics.keyDiscarded('direct');
    metrics.keyDiscarded('agent-assisted');

    const samples = await scrape(metrics);
    expect(sampleValue(samples, m('card_prompt_reached_total'), { mode: 'direct' })).toBe(2);
    expect(sampleValue(samples, m('payments_total'), { mode: 'direct', status: 'approved' })).toBe(1);
    expect(sampleValue(samples, m('payments_total'), { mode: 'agent-assisted', status: 'in_doubt' })).toBe(1);
    expect(sampleValue(samples, m('field_errors_total'), { field: 'card-number', error: 'invalid-card-number' })).toBe(2);
    expect(sampleValue(samples, m('field_errors_total'), { field: 'expiry', error: 'input-timeout' })).toBe(1);
    expect(sampleValue(samples, m('dtmf_total'), { method: 'rfc4733' })).toBe(5);
    expect(sampleValue(samples, m('dtmf_total'), { method: 'info' })).toBe(1);
    expect(sampleValue(samples, m('keys_discarded_total'), { mode: 'direct' })).toBe(2);
    expect(sampleValue(samples, m('keys_discarded_total'), { mode: 'agent-assisted' })).toBe(1);
  });

  it("counts text messages' delivery reports by provider and state, and refused callbacks by reason", async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.smsDelivery('twilio', 'delivered');
    metrics.smsDelivery('twilio', 'delivered');
    metrics.smsDelivery('vonage', 'failed');
    metrics.smsCallbackRefused('twilio', 'bad-signature');
    const samples = await scrape(metrics);
    expect(sampleValue(samples, m('sms_delivery_reports_total'), { provider: 'twilio', state: 'delivered' })).toBe(2);
    expect(sampleValue(samples, m('sms_delivery_reports_total'), { provider: 'vonage', state: 'failed' })).toBe(1);
    expect(sampleValue(samples, m('sms_callbacks_refused_total'), { provider: 'twilio', reason: 'bad-signature' })).toBe(1);
  });

  it('exports the conversion inputs, active calls and key methods at 0 before anything happens', async () => {
    const samples = await scrape(new Metrics({ processMetrics: false }));
    for (const mode of ['direct', 'agent-assisted']) {
      expect(sampleValue(samples, m('card_prompt_reached_total'), { mode })).toBe(0);
      expect(sampleValue(samples, m('payments_total'), { mode, status: 'approved' })).toBe(0);
      expect(sampleValue(samples, m('calls_active'), { mode })).toBe(0);
    }
    for (const method of ['rfc4733', 'info', 'inband']) expect(sampleValue(samples, m('dtmf_total'), { method })).toBe(0);
  });

  it('keeps time to pay and PSP latency as histograms in seconds', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.timeToPay('direct', 25);
    metrics.timeToPay('direct', 95);
    metrics.pspCall('sandbox', 'approved', 0.04);
    metrics.pspCall('sandbox', 'no-answer', 20);

    const samples = await scrape(metrics);
    expect(sampleValue(samples, m('time_to_pay_seconds_count'), { mode: 'direct' })).toBe(2);
    expect(sampleValue(samples, m('time_to_pay_seconds_sum'), { mode: 'direct' })).toBe(120);
    expect(sampleValue(samples, m('time_to_pay_seconds_bucket'), { mode: 'direct', le: '30' })).toBe(1);
    expect(sampleValue(samples, m('time_to_pay_seconds_bucket'), { mode: 'direct', le: '+Inf' })).toBe(2);
    expect(sampleValue(samples, m('psp_request_duration_seconds_count'), { psp: 'sandbox', outcome: 'approved' })).toBe(1);
    expect(sampleValue(samples, m('psp_request_duration_seconds_bucket'), { psp: 'sandbox', outcome: 'approved', le: '0.05' })).toBe(1);
    expect(sampleValue(samples, m('psp_request_duration_seconds_count'), { psp: 'sandbox', outcome: 'no-answer' })).toBe(1);
  });

  it('keeps the media workers’ GC pauses as a histogram in seconds, in the main thread’s GC buckets', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.mediaWorkerGcPause(0.0007);
    metrics.mediaWorkerGcPause(0.003);
    const samples = await scrape(metrics);
    expect(sampleValue(samples, m('media_worker_gc_duration_seconds_count'))).toBe(2);
    expect(sampleValue(samples, m('media_worker_gc_duration_seconds_bucket'), { le: '0.001' })).toBe(1);
    expect(sampleValue(samples, m('media_worker_gc_duration_seconds_bucket'), { le: '0.005' })).toBe(2);
  });

  it('reads the RTP totals only when scraped, and never lets a counter go down', async () => {
    let reads = 0;
    let totals: RtpPacketTotals = { packetsIn: 100, packetsOut: 120, late: 2, lost: 5 };
    const metrics = new Metrics({
      processMetrics: false,
      rtp: () => {
        reads++;
        return totals;
      },
    });
    expect(reads).toBe(0);
    let samples = await scrape(metrics);
    expect(reads).toBeGreaterThan(0);
    expect(sampleValue(samples, m('rtp_packets_total'), { direction: 'in' })).toBe(100);
    expect(sampleValue(samples, m('rtp_packets_total'), { direction: 'out' })).toBe(120);
    expect(sampleValue(samples, m('rtp_packets_late_total'))).toBe(2);
    expect(sampleValue(samples, m('rtp_packets_lost_total'))).toBe(5);

    // A late packet filled a gap: the session's "lost" went down (RFC 3550 §6.4.1); the counter stays.
    totals = { packetsIn: 101, packetsOut: 140, late: 3, lost: 4 };
    samples = await scrape(metrics);
    expect(sampleValue(samples, m('rtp_packets_total'), { direction: 'in' })).toBe(101);
    expect(sampleValue(samples, m('rtp_packets_total'), { direction: 'out' })).toBe(140);
    expect(sampleValue(samples, m('rtp_packets_late_total'))).toBe(3);
    expect(sampleValue(samples, m('rtp_packets_lost_total'))).toBe(5);
  });

  it('exports the SRTP packets discarded by reason (RFC 3711 §3.3), when the media server counts them', async () => {
    const srtp = { authenticationFailures: 7, replayed: 2 };
    const samples = await scrape(new Metrics({ processMetrics: false, rtp: () => ({ packetsIn: 1, packetsOut: 1, late: 0, lost: 0, srtp }) }));
    expect(sampleValue(samples, m('srtp_packets_discarded_total'), { reason: 'authentication' })).toBe(7);
    expect(sampleValue(samples, m('srtp_packets_discarded_total'), { reason: 'replay' })).toBe(2);
    const none = await scrape(new Metrics({ processMetrics: false, rtp: () => ({ packetsIn: 1, packetsOut: 1, late: 0, lost: 0 }) }));
    expect(none.filter((x) => x.name === m('srtp_packets_discarded_total'))).toEqual([]);
  });

  it('exports no RTP metrics without a source (the FreeSWITCH media server keeps its own)', async () => {
    const samples = await scrape(new Metrics({ processMetrics: false }));
    expect(samples.filter((s) => s.name.startsWith(m('rtp_')))).toEqual([]);
  });

  it('exports each readiness check and the authorisations in doubt as read at each scrape', async () => {
    let checks: Record<string, boolean> = { store: true, mediaServer: true, psp: true };
    let inDoubt = 0;
    const metrics = new Metrics({ processMetrics: false, readiness: async () => checks, inDoubt: async () => inDoubt });
    let samples = await scrape(metrics);
    expect(sampleValue(samples, m('ready'), { check: 'store' })).toBe(1);
    expect(sampleValue(samples, m('ready'), { check: 'psp' })).toBe(1);
    expect(sampleValue(samples, m('ready'), { check: 'media-server' })).toBe(1);
    expect(sampleValue(samples, m('payments_in_doubt'))).toBe(0);

    checks = { store: true, mediaServer: true, psp: false };
    inDoubt = 2;
    samples = await scrape(metrics);
    expect(sampleValue(samples, m('ready'), { check: 'psp' })).toBe(0);
    expect(sampleValue(samples, m('ready'), { check: 'store' })).toBe(1);
    expect(sampleValue(samples, m('payments_in_doubt'))).toBe(2);
  });

  it("adds Node.js process metrics, event-loop lag among them, unless told not to", async () => {
    const withProcess = await scrape(new Metrics());
    expect(sampleValue(withProcess, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(withProcess, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(withProcess, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    const without = await scrape(new Metrics({ processMetrics: false }));
    expect(without.filter((s) => !s.name.startsWith(METRIC_PREFIX))).toEqual([]);
  });

  it('keeps each instance on its own registry', async () => {
    const a = new Metrics({ processMetrics: false });
    const b = new Metrics({ processMetrics: false });
    a.dtmf('inband');
    expect(sampleValue(await scrape(a), m('dtmf_total'), { method: 'inband' })).toBe(1);
    expect(sampleValue(await scrape(b), m('dtmf_total'), { method: 'inband' })).toBe(0);
  });

  it('serves the text format with its content type', async () => {
    const { contentType, body } = await new Metrics({ processMetrics: false }).render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain(`# TYPE ${m('time_to_pay_seconds')} histogram`);
  });
});
