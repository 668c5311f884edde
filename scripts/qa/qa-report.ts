import type { QaResult } from './qa-runner.js';

/** The results as a fixed-width table: scenario, result, duration, reason. */
export function qaTable(results: readonly QaResult[]): string {
  const rows = results.map((r) => [r.scenario, r.result.toUpperCase(), `${(r.durationMs / 1000).toFixed(1)} s`, r.reason]);
  const header = ['scenario', 'result', 'duration', 'reason'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  const passed = results.filter((r) => r.result === 'pass').length;
  const failed = results.filter((r) => r.result === 'fail').length;
  const skipped = results.length - passed - failed;
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${passed} passed, ${failed} failed, ${skipped} skipped`,
  ].join('\n');
}

/** JUnit XML (the Ant/Jenkins schema CI systems read): one testcase per scenario. */
export function qaJunit(results: readonly QaResult[], suiteName = 'secure-payment-ivr-qa'): string {
  const failures = results.filter((r) => r.result === 'fail').length;
  const skipped = results.filter((r) => r.result === 'skip').length;
  const time = (ms: number): string => (ms / 1000).toFixed(3);
  const total = results.reduce((sum, r) => sum + r.durationMs, 0);
  const cases = results.map((r) => {
    const open = `  <testcase classname="${xml(suiteName)}" name="${xml(r.scenario)}" time="${time(r.durationMs)}"`;
    if (r.result === 'pass') return `${open}/>`;
    const inner = r.result === 'fail' ? `<failure message="${xml(r.reason)}">${xml(r.description)}</failure>` : `<skipped message="${xml(r.reason)}"/>`;
    return `${open}>\n    ${inner}\n  </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="${xml(suiteName)}" tests="${results.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time(total)}" timestamp="${new Date().toISOString().slice(0, 19)}">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}
