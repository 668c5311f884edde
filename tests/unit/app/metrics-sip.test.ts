import { describe, expect, it } from 'vitest';
import { Metrics, METRIC_PREFIX, type SipTotals } from '../../../app/metrics.js';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text.js';

const m = (name: string): string => `${METRIC_PREFIX}${name}`;

describe('Metrics: SIP (what was refused and why)', () => {
  it('reads the SIP totals at each scrape: messages by transport, refusals, reused branches, TCP connections closed by reason, open ones', async () => {
    let totals: SipTotals = {
      messages: { udp: 7000, tcp: 3000 },
      refused: { malformed: 7600, oversized: 580, forbidden: 12, overloaded: 0 },
      branchReused: 26,
      tcpClosed: { 'not-allowed': 1, 'too-many-connections': 0, 'too-many-from-source': 170, idle: 32, framing: 400, 'write-backlog': 0 },
      tcpOpen: 3,
    };
    const metrics = new Metrics({ processMetrics: false, sip: () => totals });
    let samples = parsePrometheusText((await metrics.render()).body);
    expect(sampleValue(samples, m('sip_messages_total'), { transport: 'udp' })).toBe(7000);
    expect(sampleValue(samples, m('sip_messages_total'), { transport: 'tcp' })).toBe(3000);
    expect(sampleValue(samples, m('sip_messages_malformed_total'))).toBe(7600);
    expect(sampleValue(samples, m('sip_datagrams_oversized_total'))).toBe(580);
    expect(sampleValue(samples, m('sip_messages_forbidden_total'))).toBe(12);
    expect(sampleValue(samples, m('sip_requests_overloaded_total'))).toBe(0);
    expect(sampleValue(samples, m('sip_requests_branch_reused_total'))).toBe(26);
    expect(sampleValue(samples, m('sip_tcp_connections_closed_total'), { reason: 'too-many-from-source' })).toBe(170);
    expect(sampleValue(samples, m('sip_tcp_connections_closed_total'), { reason: 'idle' })).toBe(32);
    expect(sampleValue(samples, m('sip_tcp_connections'))).toBe(3);

    totals = { ...totals, refused: { ...totals.refused, overloaded: 4 }, tcpOpen: 0 };
    samples = parsePrometheusText((await metrics.render()).body);
    expect(sampleValue(samples, m('sip_requests_overloaded_total'))).toBe(4);
    expect(sampleValue(samples, m('sip_tcp_connections'))).toBe(0);
  });

  it('exports the Digest outcomes of INVITEs from outside SIP_ALLOW (SIP_AUTH_USERS)', async () => {
    const totals: SipTotals = {
      messages: { udp: 0, tcp: 0 },
      refused: { malformed: 0, oversized: 0, forbidden: 2, overloaded: 0 },
      branchReused: 0,
      tcpClosed: {},
      tcpOpen: 0,
      digest: { challenged: 9, authenticated: 4, failed: 5, lockedOut: 2 },
    };
    const samples = parsePrometheusText((await new Metrics({ processMetrics: false, sip: () => totals }).render()).body);
    expect(sampleValue(samples, m('sip_digest_invites_total'), { outcome: 'challenged' })).toBe(9);
    expect(sampleValue(samples, m('sip_digest_invites_total'), { outcome: 'authenticated' })).toBe(4);
    expect(sampleValue(samples, m('sip_digest_invites_total'), { outcome: 'failed' })).toBe(5);
    expect(sampleValue(samples, m('sip_digest_invites_total'), { outcome: 'locked-out' })).toBe(2);
  });

  it('exports no SIP metrics without a source (drachtio keeps its own)', async () => {
    const samples = parsePrometheusText((await new Metrics({ processMetrics: false }).render()).body);
    expect(samples.filter((s) => s.name.startsWith(m('sip_')))).toEqual([]);
  });
});
