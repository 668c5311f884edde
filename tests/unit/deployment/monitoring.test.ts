import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Metrics } from '../../../app/metrics.js';
import { projectRoot } from '../../../app/project-root.js';
import { promSelectors, type PromSelector } from '../../support/promql-selectors.js';

/**
 * monitoring/: the Prometheus alert rules, checked and unit-tested by
 * Debian's promtool (package prometheus), and the Grafana dashboard; every
 * metric either names, with every label it matches on, is one the real
 * Metrics registry exports.
 */

const DIR = join(projectRoot(), 'monitoring');
const RULES = join(DIR, 'prometheus/payment-ivr-alerts.yml');
const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana/payment-ivr.json'), 'utf8')) as {
  uid: string;
  panels: { title: string; datasource: unknown; targets: { expr: string; refId: string }[] }[];
  templating: { list: { name: string; query: string }[] };
};
const rules = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };

/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];

/** Every series name the registry exposes, with its labels: a histogram as its _bucket, _count and _sum series. */
async function exportedSeries(): Promise<Map<string, readonly string[]>> {
  const zero = { messages: { udp: 0, tcp: 0 }, refused: { malformed: 0, oversized: 0, forbidden: 0, overloaded: 0 }, branchReused: 0, tcpClosed: {}, tcpOpen: 0 };
  const metrics = new Metrics({
    rtp: () => ({ packetsIn: 0, packetsOut: 0, late: 0, lost: 0 }),
    sip: () => zero,
    readiness: async () => ({ store: true }),
    inDoubt: async () => 0,
  });
  const series = new Map<string, readonly string[]>([['up', []]]);
  for (const { name, type } of await metrics.registry.getMetricsAsJSON()) {
    const labels = (metrics.registry.getSingleMetric(name) as unknown as { labelNames?: string[] }).labelNames ?? [];
    if (String(type) === 'histogram') {
      series.set(`${name}_bucket`, [...labels, 'le']);
      series.set(`${name}_count`, labels);
      series.set(`${name}_sum`, labels);
    } else {
      series.set(name, labels);
    }
  }
  return series;
}

function unknownSelectors(selectors: readonly PromSelector[], exported: Map<string, readonly string[]>): string[] {
  return selectors.flatMap(({ metric, labels }) => {
    const known = exported.get(metric);
    if (!known) return [`${metric} is not exported`];
    return labels.filter((l) => !known.includes(l) && !TARGET_LABELS.includes(l)).map((l) => `${metric} has no label ${l}`);
  });
}

describe('Prometheus alert rules', () => {
  it('pass promtool check rules', async () => {
    const out = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: 6 rules found/);
  });

  it("fire on the series that should raise them and not on healthy ones (promtool test rules)", async () => {
    const out = execFileSync('promtool', ['test', 'rules', 'payment-ivr-alerts.test.yml'], { cwd: join(DIR, 'prometheus'), encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
  });

  it('cover PSP errors, in-doubt payments, no calls, readiness and event-loop lag', async () => {
    const names = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(names.sort()).toEqual([
      'PaymentIvrDown',
      'PaymentIvrEventLoopLag',
      'PaymentIvrNoCallsAnswered',
      'PaymentIvrNotReady',
      'PaymentIvrPaymentsInDoubt',
      'PaymentIvrPspErrorRate',
    ]);
  });

  it('name only metrics and labels we export', async () => {
    const exported = await exportedSeries();
    const selectors = rules.groups.flatMap((g) => g.rules.flatMap((r) => promSelectors(r.expr)));
    expect(selectors.length).toBeGreaterThan(6);
    expect(unknownSelectors(selectors, exported)).toEqual([]);
  });
});

describe('Grafana dashboard', () => {
  it('names only metrics and labels we export, in every panel and variable', async () => {
    const exported = await exportedSeries();
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    const variables = dashboard.templating.list.flatMap((v) => [...v.query.matchAll(/label_values\((\w+),\s*(\w+)\)/g)].map((m) => `${m[1]}{${m[2]}=""}`));
    const selectors = [...exprs, ...variables].flatMap((e) => promSelectors(e));
    expect(unknownSelectors(selectors, exported)).toEqual([]);
  });

  it('charts calls, conversion, time to pay, field errors, PSP latency and errors, RTP loss and event-loop lag', async () => {
    const named = (metric: string): string[] =>
      dashboard.panels.filter((p) => p.targets.some((t) => promSelectors(t.expr).some((s) => s.metric === metric))).map((p) => p.title);
    expect(named('payment_ivr_calls_total')).toContain('Calls answered');
    expect(named('payment_ivr_card_prompt_reached_total')).toContain('Conversion');
    expect(named('payment_ivr_time_to_pay_seconds_bucket')).toContain('Time to pay');
    expect(named('payment_ivr_field_errors_total')).toContain('Card field errors');
    expect(named('payment_ivr_psp_request_duration_seconds_bucket')).toContain('PSP latency');
    expect(named('payment_ivr_psp_request_duration_seconds_count')).toContain('PSP errors');
    expect(named('payment_ivr_rtp_packets_lost_total')).toContain('RTP loss');
    expect(named('nodejs_eventloop_lag_p99_seconds')).toContain('Event-loop lag');
    // Every panel queries the data source the importer picks.
    for (const p of dashboard.panels) expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
  });
});

describe('promSelectors', () => {
  it('finds the selectors of an expression, not its functions, groupings, ranges or numbers', async () => {
    expect(promSelectors('sum by (psp) (rate(a_total{outcome=~"error|no-answer",psp!="x"}[5m])) / sum(rate(b_count[5m])) > 0.1 or up == 0')).toEqual([
      { metric: 'a_total', labels: ['outcome', 'psp'] },
      { metric: 'b_count', labels: [] },
      { metric: 'up', labels: [] },
    ]);
  });
});
