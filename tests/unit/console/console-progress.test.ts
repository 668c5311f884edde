import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import type { ProgressEvent } from '../../../ivr/flow/flow-types.js';

/** The console's progress.js as seen from here (it is a plain browser module, loaded by URL). */
interface FieldView {
  state: string;
  text: string;
  tone: string;
}
interface PaymentView {
  stage: string;
  tone: string;
  fields: Record<string, FieldView>;
  card: { brand: string | null; last4: string | null };
  pspReference: string | null;
  ended: boolean;
  secure: boolean;
  keyedEarly: number;
}
interface ProgressModule {
  describeEvent(event: ProgressEvent): { text: string; tone: string };
  initialView(): PaymentView;
  applyEvent(view: PaymentView, event: ProgressEvent | { type: string; [k: string]: unknown }): PaymentView;
  maskedCount(count: unknown): string;
  safeLast4(value: unknown): string | null;
  toMinorUnits(text: string, currency: string): number | null;
  formatAmount(minor: number, currency: string): string;
  linkSummary(link: { state?: unknown; phoneEnding?: unknown; sms?: { delivery?: unknown; errorCode?: unknown } | null }): string;
}

/** One of every ProgressEvent the stream can carry (ivr/flow/flow-types.ts). */
const EVERY_EVENT: ProgressEvent[] = [
  { type: 'caller-connected' },
  { type: 'agent-connected' },
  { type: 'agent-unavailable', reason: 'no-answer' },
  { type: 'agent-hung-up' },
  { type: 'waiting-for-recorder', reason: 'timeout' },
  { type: 'waiting-for-agent' },
  { type: 'field-started', field: 'card-number', attempt: 1 },
  { type: 'digit-entered', field: 'card-number', count: 8 },
  { type: 'field-restarted', field: 'expiry' },
  { type: 'field-complete', field: 'card-number', valid: true, brand: 'visa', last4: '4242' },
  { type: 'field-error', field: 'expiry', error: 'invalid-date', attempt: 1, attemptsLeft: 2 },
  { type: 'authorising' },
  { type: 'approved', pspReference: 'sbx_0123abcd' },
  { type: 'declined', reason: 'insufficient-funds' },
  { type: 'caller-hung-up' },
  { type: 'ended', result: 'approved' },
  { type: 'secure-on' },
  { type: 'keyed-early', count: 3 },
  { type: 'secure-off' },
];

describe('agent console: progress words and amounts (progress.js)', () => {
  let p: ProgressModule;

  beforeAll(async () => {
    p = (await import(pathToFileURL(join(projectRoot(), 'agent-bridge/console/public/progress.js')).href)) as ProgressModule;
  });

  it('has words for every progress event, digits only as a count', () => {
    const texts = EVERY_EVENT.map((e) => p.describeEvent(e).text);
    expect(texts.filter((t) => t.startsWith('Update:'))).toEqual([]);
    expect(texts).toEqual([
      'Caller connected to the payment line',
      'You are connected to the caller (keys are masked)',
      'Could not call you back: your phone did not answer. The caller continues alone.',
      'Your phone left the call',
      'Waiting for the call recorder to pause',
      'Waiting for you: choose a field to capture',
      'Card number: caller keying (attempt 1)',
      'Card number: •••• 8 digits',
      'Expiry date: restarted by the caller',
      'Card number valid: Visa •••• 4242',
      'Expiry date error: invalid or past expiry date, 2 attempts left',
      'Authorising with the payment provider…',
      'Approved, PSP reference sbx_0123abcd',
      'Declined: insufficient funds',
      'Caller hung up',
      'Payment ended: approved',
      'Secure: recording paused, the caller can key the card',
      'The caller keyed before the prompt (3 keys discarded): ask them to wait for it',
      'Card entry over: recording resumed',
    ]);
    expect(p.maskedCount(1)).toBe('•••• 1 digit');
  });

  it('says a direct-pay call that ended on a payment link is over, the payment not yet', () => {
    expect(p.describeEvent({ type: 'ended', result: 'link-sent' })).toEqual({ text: 'Payment ended: the caller chose a payment link by text message', tone: 'info' });
    expect(p.describeEvent({ type: 'ended', result: 'already-paid' }).text).toBe('Payment ended: the order was already paid');
  });

  it("says what the SMS provider reported of a text, by the number's last digits and the provider's error code", () => {
    expect(p.describeEvent({ type: 'sms-delivery', state: 'delivered', phoneEnding: '456', link: true })).toEqual({
      text: 'The payment link text was delivered to the number ending 456',
      tone: 'good',
    });
    expect(p.describeEvent({ type: 'sms-delivery', state: 'undelivered', errorCode: '30003', phoneEnding: '456', link: true })).toEqual({
      text: 'The payment link text was not delivered to the number ending 456: not delivered (error 30003)',
      tone: 'bad',
    });
    expect(p.describeEvent({ type: 'sms-delivery', state: 'failed', phoneEnding: '456', link: false }).text).toBe('The receipt text was not delivered to the number ending 456: failed');
  });

  it("sums up the session's link and its text in a line, the number by its last digits only", () => {
    expect(p.linkSummary({ state: 'active', phoneEnding: '456', sms: { delivery: 'delivered', errorCode: null } })).toBe('waiting for the payment; text to …456 delivered');
    expect(p.linkSummary({ state: 'expired', phoneEnding: '456', sms: { delivery: 'undelivered', errorCode: '30005' } })).toBe('expired; text to …456 not delivered (error 30005)');
    expect(p.linkSummary({ state: 'cancelled', phoneEnding: '456', sms: null })).toBe('cancelled; no text went out');
    // Whatever a (broken) server sent, no more than the last digits reach the page.
    expect(p.linkSummary({ state: 'active', phoneEnding: '447400123456', sms: { delivery: 'submitted', errorCode: '<b>' } })).toBe('waiting for the payment; text to …? accepted by the SMS provider');
  });

  it('shows the secure badge from secure-on to secure-off or the end, and counts early keys', () => {
    const view = p.initialView();
    expect(view.secure).toBe(false);
    p.applyEvent(view, { type: 'keyed-early', count: 2 });
    expect(view).toMatchObject({ secure: false, keyedEarly: 2 });
    p.applyEvent(view, { type: 'secure-on' });
    expect(view.secure).toBe(true);
    p.applyEvent(view, { type: 'waiting-for-agent' });
    expect(view.secure).toBe(true);
    p.applyEvent(view, { type: 'secure-off' });
    expect(view.secure).toBe(false);
    p.applyEvent(view, { type: 'secure-on' });
    p.applyEvent(view, { type: 'ended', result: 'cancelled' });
    expect(view.secure).toBe(false);
  });

  it('shows a last four only when it is exactly four digits', () => {
    expect(p.safeLast4('4242')).toBe('4242');
    for (const bad of ['424242', '42', '42a2', 4242, null, undefined]) expect(p.safeLast4(bad)).toBeNull();
    // Whatever a (broken) server sent, nothing but four digits reaches the page.
    const forged = { type: 'field-complete', field: 'card-number', valid: true, brand: 'visa', last4: '4242424242424242' };
    expect(p.describeEvent(forged as ProgressEvent).text).toBe('Card number valid: Visa');
    const view = p.applyEvent(p.initialView(), forged);
    expect(view.card.last4).toBeNull();
    expect(view.fields['card-number']!.text).toBe('Valid: Visa');
  });

  it('keeps one line per field and a headline that stops at the outcome', () => {
    const view = p.initialView();
    expect(view.stage).toBe('Waiting for the caller');
    for (const e of EVERY_EVENT.slice(6, 11)) p.applyEvent(view, e);
    expect(view.fields['card-number']).toEqual({ state: 'valid', text: 'Valid: Visa •••• 4242', tone: 'good' });
    expect(view.fields.expiry).toEqual({ state: 'error', text: 'Error: invalid or past expiry date, 2 attempts left', tone: 'bad' });
    expect(view.fields['security-code']).toEqual({ state: 'idle', text: 'Not started', tone: 'info' });
    p.applyEvent(view, { type: 'digit-entered', field: 'expiry', count: 3 });
    expect(view.fields.expiry!.text).toBe('•••• 3 digits');
    // Digit counts do not take the headline.
    expect(view.stage).toBe('Expiry date error: invalid or past expiry date, 2 attempts left');

    p.applyEvent(view, { type: 'approved', pspReference: 'sbx_1' });
    p.applyEvent(view, { type: 'ended', result: 'approved' });
    p.applyEvent(view, { type: 'agent-hung-up' });
    expect(view).toMatchObject({ stage: 'Approved, PSP reference sbx_1', tone: 'good', pspReference: 'sbx_1', ended: true });
  });

  it('converts major units to minor units exactly, per currency', () => {
    expect(p.toMinorUnits('42.5', 'EUR')).toBe(4250);
    expect(p.toMinorUnits('42,50', 'EUR')).toBe(4250);
    expect(p.toMinorUnits(' 1 000.29 ', 'GBP')).toBe(100029);
    expect(p.toMinorUnits('0.29', 'EUR')).toBe(29); // 0.29 * 100 is 28.999… in floating point
    expect(p.toMinorUnits('42', 'EUR')).toBe(4200);
    expect(p.toMinorUnits('1500', 'JPY')).toBe(1500);
    expect(p.toMinorUnits('1.234', 'BHD')).toBe(1234);
    for (const bad of ['42.505', '15.5', '-1', '1e3', 'abc', '', '.']) {
      expect(p.toMinorUnits(bad, bad === '15.5' ? 'JPY' : 'EUR'), bad).toBeNull();
    }
    expect(p.formatAmount(4250, 'EUR')).toMatch(/42\.50/);
  });
});
