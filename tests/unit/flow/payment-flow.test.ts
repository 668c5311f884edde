import { afterAll, describe, expect, it } from 'vitest';
import { TRANSITIONS } from '../../../ivr/flow/payment-flow.js';
import { CommandRejectedError } from '../../../ivr/flow/flow-errors.js';
import type { FlowState } from '../../../ivr/flow/flow-types.js';
import { DEMO_ORDER, FlowHarness, observedTransitions } from './flow-harness.js';

// Public test card numbers (Stripe's documented test cards).
const VISA = '4242424242424242';
const VISA_BAD_LUHN = '4242424242424241';
const AMEX = '378282246310005';
const DISCOVER = '6011111111111117';
const TEST_PANS = [VISA, VISA_BAD_LUHN, AMEX, DISCOVER];

function direct(options: Partial<ConstructorParameters<typeof FlowHarness>[0]> = {}): FlowHarness {
  return new FlowHarness({ mode: 'direct', ...options });
}

function assertNoCardData(h: FlowHarness): void {
  const text = JSON.stringify(h.effects) + JSON.stringify(h.flow);
  for (const pan of TEST_PANS) expect(text).not.toContain(pan);
  // The expiry and security code keyed in these tests.
  expect(text).not.toMatch(/"1230"|"123"|"1234"/);
}

describe('direct pay happy path', () => {
  it('runs reference, amount, card fields, authorisation and result in order', () => {
    const h = direct();
    // Keys are masked from the moment the caller joins (the reference too).
    expect(h.start()[0]).toEqual({ type: 'mask', on: true });
    expect(h.state).toBe('collecting-reference');
    expect(h.promptIds()).toEqual(['welcome', 'enter-reference']);

    const lookup = h.keys('1001#');
    expect(lookup).toContainEqual({ type: 'lookup-order', reference: '1001' });
    expect(h.state).toBe('looking-up-order');

    const secured = h.findOrder();
    expect(secured).toContainEqual({ type: 'order-confirmed', order: DEMO_ORDER });
    expect(secured).toContainEqual({ type: 'secure-window', on: true });
    expect(secured).toContainEqual({ type: 'recording', action: 'pause' });
    // No card prompt until the recorder confirms its pause.
    expect(h.state).toBe('securing');
    expect(h.promptIds()).toEqual(['welcome', 'enter-reference']);

    expect(h.ackRecorder()).toContainEqual({ type: 'progress', event: { type: 'secure-on' } });
    expect(h.state).toBe('collecting-card');
    expect(h.promptIds()).toEqual(['amount-is', 'say:amount', 'enter-card-number']);
    expect(h.lastPlay?.items[1]).toEqual({ say: 'amount', amountMinor: 4250, currency: 'EUR' });

    h.keys(VISA);
    expect(h.progress()).toContainEqual({ type: 'field-complete', field: 'card-number', valid: true, brand: 'visa', last4: '4242' });
    expect(h.flow.field).toBe('expiry');
    h.keys('1230');
    expect(h.flow.field).toBe('security-code');
    expect(h.promptIds()).toEqual(['enter-security-code']);
    const authorise = h.keys('123');

    const types = authorise.map((e) => e.type);
    expect(types.indexOf('secure-window')).toBeLessThan(types.indexOf('authorise'));
    expect(authorise).toContainEqual({ type: 'secure-window', on: false });
    expect(authorise).toContainEqual({ type: 'recording', action: 'resume' });
    expect(authorise).toContainEqual({ type: 'progress', event: { type: 'secure-off' } });
    // Keys stay masked until the call is handed back.
    expect(authorise).not.toContainEqual({ type: 'mask', on: false });
    expect(h.masked).toBe(true);
    expect(h.state).toBe('authorising');
    expect(h.promptIds()).toEqual(['please-wait']);
    expect(h.lastPlay?.bargeIn).toBe(false);

    const done = h.send({
      type: 'authorisation-result',
      outcome: { kind: 'approved', pspReference: 'sbx_1', spokenReference: 'A7K2' },
    });
    expect(done).toContainEqual({ type: 'end', result: 'approved' });
    expect(h.flow.result).toBe('approved');
    expect(h.promptIds()).toEqual(['payment-approved', 'your-payment-reference-is', 'say:characters', 'goodbye']);
    expect(h.finishPrompt()).toEqual([{ type: 'mask', on: false }, { type: 'release' }]);
    expect(h.masked).toBe(false);
    expect(h.secureWindow).toBe(false);
    expect(h.recordingPaused).toBe(false);
    assertNoCardData(h);
  });

  it('records one accepted attempt per field and reports digit counts only', () => {
    const h = direct().toCardNumber();
    h.keys(`${VISA}1230123`);
    const attempts = h.effects.filter((e) => e.type === 'capture-attempt');
    expect(attempts).toEqual([
      { type: 'capture-attempt', field: 'card-number', attempt: 1, outcome: 'accepted' },
      { type: 'capture-attempt', field: 'expiry', attempt: 1, outcome: 'accepted' },
      { type: 'capture-attempt', field: 'security-code', attempt: 1, outcome: 'accepted' },
    ]);
    const counts = h.progress().flatMap((p) => (p.type === 'digit-entered' && p.field === 'card-number' ? [p.count] : []));
    expect(counts).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    assertNoCardData(h);
  });

  it('asks for 4 digits of security code on Amex and completes at 4', () => {
    const h = direct().toCardNumber();
    h.keys(AMEX);
    h.keys('1230');
    expect(h.promptIds()).toEqual(['enter-security-code-amex']);
    h.keys('1234');
    expect(h.state).toBe('authorising');
  });

  it('asks to confirm the amount only when configured', () => {
    const h = direct({ confirmAmount: true });
    h.start();
    h.keys('1001#');
    h.findOrder();
    expect(h.state).toBe('confirming-amount');
    expect(h.promptIds()).toEqual(['amount-is', 'say:amount', 'confirm-amount']);
    expect(h.masked).toBe(true);
    expect(h.secureWindow).toBe(false);
    h.keys('1');
    expect(h.state).toBe('securing');
    h.ackRecorder();
    expect(h.promptIds()).toEqual(['enter-card-number']);
  });

  it('goes back to the reference when the caller refuses the amount', () => {
    const h = direct({ confirmAmount: true });
    h.start();
    h.keys('1001#');
    h.findOrder();
    h.keys('2');
    expect(h.state).toBe('collecting-reference');
    expect(h.promptIds()).toEqual(['enter-reference']);
  });
});

describe('keys and timing', () => {
  it('absorbs a # pressed right after a field completed on its length', () => {
    const h = direct().toCardNumber();
    h.keys(`${VISA}#1230#`);
    expect(h.flow.field).toBe('security-code');
    expect(h.progress().filter((p) => p.type === 'field-error')).toEqual([]);
  });

  it('ends a field on # before its maximum length', () => {
    const h = direct().toCardNumber();
    // A Visa of 13 digits is valid; the field waits for more until #.
    h.keys('4222222222222');
    expect(h.flow.field).toBe('card-number');
    h.keys('#');
    expect(h.flow.field).toBe('expiry');
  });

  it('keeps keys pressed during a prompt (type-ahead) and stops the prompt', () => {
    const h = direct().toCardNumber();
    const out = h.keys('4');
    expect(out[0]).toEqual({ type: 'stop-playback' });
    h.keys(VISA.slice(1));
    expect(h.flow.field).toBe('expiry');
    // Keys typed while the expiry prompt plays land in the expiry.
    h.keys('1230');
    expect(h.flow.field).toBe('security-code');
  });

  it('starts the first-digit timer only once the prompt has played', () => {
    const h = direct().toCardNumber();
    expect(h.timer).toBeUndefined();
    const out = h.finishPrompt();
    expect(out).toContainEqual({ type: 'start-timer', timer: 'first-digit', ms: 10_000, token: expect.any(Number) });
  });

  it('reports input-timeout when no key comes', () => {
    const h = direct().toCardNumber();
    h.finishPrompt();
    h.expireTimer();
    expect(h.progress()).toContainEqual({ type: 'field-error', field: 'card-number', error: 'input-timeout', attempt: 1, attemptsLeft: 2 });
    expect(h.promptIds()).toEqual(['error-input-timeout', 'enter-card-number']);
  });

  it('checks the field as keyed when the inter-digit timer runs out', () => {
    const h = direct().toCardNumber();
    h.keys('4222222222222');
    expect(h.timer?.timer).toBe('inter-digit');
    h.expireTimer();
    expect(h.flow.field).toBe('expiry');
  });

  it('reports input-timeout when the inter-digit timer runs out on an empty field after *', () => {
    const h = direct().toCardNumber();
    h.keys('42*');
    h.finishPrompt();
    h.expireTimer();
    expect(h.progress().filter((p) => p.type === 'field-error')).toMatchObject([{ error: 'input-timeout' }]);
  });

  it('ignores a stale timer', () => {
    const h = direct().toCardNumber();
    h.finishPrompt();
    const stale = h.timer!.token;
    h.keys('4');
    expect(h.send({ type: 'timer-expired', token: stale })).toEqual([]);
    expect(h.flow.field).toBe('card-number');
  });

  it('restarts a field on * without counting an attempt', () => {
    const h = direct().toCardNumber();
    h.keys('4242424*');
    expect(h.progress()).toContainEqual({ type: 'field-restarted', field: 'card-number' });
    expect(h.promptIds()).toEqual(['field-restarted', 'enter-card-number']);
    h.keys(VISA);
    expect(h.flow.field).toBe('expiry');
    expect(h.progress().filter((p) => p.type === 'field-error')).toEqual([]);
  });

  it('ignores # on an empty field and the A-D keys', () => {
    const h = direct().toCardNumber();
    expect(h.keys('#ABCD')).toEqual([]);
    expect(h.flow.field).toBe('card-number');
  });
});

describe('capture errors', () => {
  const cases: { name: string; keys: string; error: string; field: string; accepted?: ('visa' | 'mastercard' | 'amex')[] }[] = [
    { name: 'wrong Luhn', keys: `${VISA_BAD_LUHN}#`, error: 'invalid-card-number', field: 'card-number' },
    { name: 'too short', keys: '42424242#', error: 'invalid-card-number', field: 'card-number' },
    { name: 'brand not accepted', keys: DISCOVER, error: 'invalid-card-type', field: 'card-number' },
    { name: 'expiry in the past', keys: `${VISA}1025`, error: 'invalid-date', field: 'expiry' },
    { name: 'expiry month 13', keys: `${VISA}1330`, error: 'invalid-date', field: 'expiry' },
    { name: 'expiry too far ahead', keys: `${VISA}1250`, error: 'invalid-date', field: 'expiry' },
    { name: 'expiry too short', keys: `${VISA}12#`, error: 'invalid-date', field: 'expiry' },
    { name: 'Amex code of 3 digits', keys: `${AMEX}1230123#`, error: 'invalid-security-code', field: 'security-code' },
    { name: 'Visa code of 2 digits', keys: `${VISA}123012#`, error: 'invalid-security-code', field: 'security-code' },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.error} with its own prompt, then a retry`, () => {
      const h = direct().toCardNumber();
      h.keys(c.keys);
      expect(h.progress().filter((p) => p.type === 'field-error')).toEqual([{ type: 'field-error', field: c.field, error: c.error, attempt: 1, attemptsLeft: 2 }]);
      expect(h.lastProgress()).toEqual({ type: 'field-started', field: c.field, attempt: 2 });
      expect(h.effects).toContainEqual({ type: 'capture-attempt', field: c.field, attempt: 1, outcome: c.error });
      expect(h.promptIds()[0]).toBe(`error-${c.error}`);
      expect(h.flow.field).toBe(c.field);
      expect(h.masked).toBe(true);
      assertNoCardData(h);
    });
  }

  it('accepts a good card number after a wrong one', () => {
    const h = direct().toCardNumber();
    h.keys(`${VISA_BAD_LUHN}#`);
    h.keys(`${VISA}1230123`);
    expect(h.state).toBe('authorising');
    const attempts = h.effects.filter((e) => e.type === 'capture-attempt' && e.field === 'card-number');
    expect(attempts.map((a) => a.type === 'capture-attempt' && a.outcome)).toEqual(['invalid-card-number', 'accepted']);
  });

  it('gives up after the maximum attempts, with the secure window closed and recording resumed', () => {
    const h = direct({ maxAttempts: 3 }).toCardNumber();
    h.keys(`${VISA_BAD_LUHN}#`);
    h.keys(`${VISA_BAD_LUHN}#`);
    const out = h.keys(`${VISA_BAD_LUHN}#`);
    expect(h.state).toBe('ended');
    expect(h.flow.result).toBe('too-many-failed-attempts');
    expect(out).toContainEqual({ type: 'secure-window', on: false });
    expect(out).toContainEqual({ type: 'recording', action: 'resume' });
    expect(out).toContainEqual({ type: 'discard-card' });
    expect(h.promptIds()).toEqual(['error-invalid-card-number', 'too-many-attempts', 'goodbye']);
    expect(h.lastProgress()).toEqual({ type: 'ended', result: 'too-many-failed-attempts' });
  });

  it('counts attempts per field', () => {
    const h = direct({ maxAttempts: 2 }).toCardNumber();
    h.keys(`${VISA_BAD_LUHN}#`);
    h.keys(VISA);
    h.keys('1025');
    expect(h.state).toBe('collecting-card');
    h.keys('1230123');
    expect(h.state).toBe('authorising');
  });
});

describe('card confirmation', () => {
  it('reads back the last four and authorises on 1', () => {
    const h = direct({ confirmCard: true }).toCardNumber();
    h.keys(`${VISA}1230123`);
    expect(h.state).toBe('confirming-card');
    expect(h.lastPlay?.items).toEqual([{ prompt: 'confirm-card-ending' }, { say: 'characters', value: '4242' }, { prompt: 'confirm-card-keys' }]);
    // Confirmation is inside the secure window: "2" re-captures the card.
    expect(h.secureWindow).toBe(true);
    expect(h.recordingPaused).toBe(true);
    h.keys('1');
    expect(h.state).toBe('authorising');
    expect(h.secureWindow).toBe(false);
    expect(h.recordingPaused).toBe(false);
  });

  it('re-captures every field on 2 (input-matching-failed) and fails after the maximum', () => {
    const h = direct({ confirmCard: true, maxAttempts: 2 }).toCardNumber();
    h.keys(`${VISA}1230123`);
    const recapture = h.keys('2');
    expect(recapture.filter((e) => e.type === 'progress').map((e) => e.event)).toEqual([
      { type: 'field-error', field: 'card-number', error: 'input-matching-failed', attempt: 1, attemptsLeft: 1 },
      { type: 'field-started', field: 'card-number', attempt: 1 },
    ]);
    // The window never closed: no new pause to wait for, straight to the card number.
    expect(recapture.some((e) => e.type === 'recording' || e.type === 'secure-window')).toBe(false);
    expect(h.state).toBe('collecting-card');
    expect(h.secureWindow).toBe(true);
    expect(h.promptIds()).toEqual(['error-input-matching-failed', 'enter-card-number']);
    h.keys(`${VISA}1230123`);
    expect(h.state).toBe('confirming-card');
    h.keys('2');
    expect(h.flow.result).toBe('too-many-failed-attempts');
  });

  it('repeats the question on a timeout', () => {
    const h = direct({ confirmCard: true }).toCardNumber();
    h.keys(`${VISA}1230123`);
    h.finishPrompt();
    h.expireTimer();
    expect(h.state).toBe('confirming-card');
    expect(h.promptIds()).toEqual(['error-input-timeout', 'confirm-card-keys']);
  });
});

describe('reference and order lookup', () => {
  it('gives an unknown reference its own prompt and a retry', () => {
    const h = direct();
    h.start();
    h.keys('9999#');
    h.send({ type: 'order-lookup-result', result: { kind: 'not-found' } });
    expect(h.state).toBe('collecting-reference');
    expect(h.promptIds()).toEqual(['unknown-reference', 'enter-reference']);
    h.keys('1001#');
    expect(h.effects.filter((e) => e.type === 'lookup-order').at(-1)).toEqual({ type: 'lookup-order', reference: '1001' });
  });

  it('submits the reference when the inter-digit timer runs out, restarts on *', () => {
    const h = direct();
    h.start();
    h.keys('12*10');
    h.keys('01');
    h.expireTimer();
    expect(h.effects).toContainEqual({ type: 'lookup-order', reference: '1001' });
  });

  it('ends after too many unknown references or timeouts', () => {
    const h = direct({ maxAttempts: 2 });
    h.start();
    h.finishPrompt();
    h.expireTimer();
    expect(h.promptIds()).toEqual(['reference-timeout', 'enter-reference']);
    h.keys('9#');
    h.send({ type: 'order-lookup-result', result: { kind: 'not-found' } });
    expect(h.flow.result).toBe('too-many-failed-attempts');
    // The reference's keys were masked until the goodbye; no card prompt, so no secure window.
    h.finishPrompt();
    expect(h.effects.filter((e) => e.type === 'mask')).toEqual([{ type: 'mask', on: true }, { type: 'mask', on: false }]);
    expect(h.count('secure-window')).toBe(0);
    expect(h.count('recording')).toBe(0);
  });

  it('apologises when the order service is unavailable', () => {
    const h = direct();
    h.start();
    h.keys('1001#');
    h.send({ type: 'order-lookup-result', result: { kind: 'unavailable', reason: 'timeout' } });
    expect(h.flow.result).toBe('internal-error');
    expect(h.promptIds()).toEqual(['order-service-unavailable', 'goodbye']);
  });

  it('tells the caller an order already paid is paid, and ends without a payment or a secure window', () => {
    const h = direct();
    h.start();
    h.keys('1001#');
    h.send({ type: 'order-lookup-result', result: { kind: 'already-paid', reference: '1001' } });
    expect(h.state).toBe('ended');
    expect(h.flow.result).toBe('already-paid');
    expect(h.promptIds()).toEqual(['order-already-paid', 'goodbye']);
    // Nothing to pay: no session is created, no card asked for.
    expect(h.count('order-confirmed')).toBe(0);
    expect(h.count('secure-window')).toBe(0);
    expect(h.count('authorise')).toBe(0);
    h.finishPrompt();
    expect(h.count('release')).toBe(1);
  });

  it('drops keys pressed while the order is looked up', () => {
    const h = direct();
    h.start();
    h.keys('1001#');
    expect(h.keys('4242')).toEqual([]);
  });
});

describe('authorisation outcomes', () => {
  function authorising(): FlowHarness {
    const h = direct().toCardNumber();
    h.keys(`${VISA}1230123`);
    return h;
  }

  it('declined with insufficient funds has its own prompt', () => {
    const h = authorising();
    h.send({ type: 'authorisation-result', outcome: { kind: 'declined', reason: 'insufficient-funds' } });
    expect(h.flow.result).toBe('declined');
    expect(h.progress()).toContainEqual({ type: 'declined', reason: 'insufficient-funds' });
    expect(h.promptIds()[0]).toBe('payment-declined-insufficient-funds');
  });

  it('a PSP error ends psp-error, a timeout in-doubt', () => {
    const a = authorising();
    a.send({ type: 'authorisation-result', outcome: { kind: 'error', code: 'processing-error' } });
    expect(a.flow.result).toBe('psp-error');
    const b = authorising();
    b.send({ type: 'authorisation-result', outcome: { kind: 'in-doubt' } });
    expect(b.flow.result).toBe('in-doubt');
    expect(b.promptIds()[0]).toBe('payment-in-doubt');
  });

  it('a hang-up while authorising waits for the PSP answer, which decides', () => {
    const h = authorising();
    expect(h.send({ type: 'hangup' })).toEqual([{ type: 'progress', event: { type: 'caller-hung-up' } }]);
    expect(h.state).toBe('authorising');
    const out = h.send({
      type: 'authorisation-result',
      outcome: { kind: 'approved', pspReference: 'sbx_2', spokenReference: 'X' },
    });
    expect(h.flow.result).toBe('approved');
    expect(out.filter((e) => e.type === 'play')).toEqual([]);
    expect(out.at(-1)).toEqual({ type: 'release' });
  });
});

describe('hang-up in every state ends with the secure window closed, recording resumed and masking off', () => {
  const drivers: Record<Exclude<FlowState, 'authorising' | 'sending-link' | 'ended'>, () => FlowHarness> = {
    idle: () => direct(),
    'collecting-reference': () => {
      const h = direct();
      h.start();
      h.keys('10');
      return h;
    },
    'looking-up-order': () => {
      const h = direct();
      h.start();
      h.keys('1001#');
      return h;
    },
    'confirming-amount': () => {
      const h = direct({ confirmAmount: true });
      h.start();
      h.keys('1001#');
      h.findOrder();
      return h;
    },
    securing: () => {
      const h = direct();
      h.start();
      h.keys('1001#');
      h.findOrder();
      return h;
    },
    'collecting-card': () => direct().toCardNumber(),
    'confirming-card': () => {
      const h = direct({ confirmCard: true }).toCardNumber();
      h.keys(`${VISA}1230123`);
      return h;
    },
    'offering-link': () => linkOffered(),
    'confirming-link-number': () => {
      const h = linkOffered();
      h.keys('9');
      return h;
    },
    'awaiting-agent': () => {
      const h = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER, autoCapture: false });
      h.start();
      return h;
    },
  };
  for (const [state, drive] of Object.entries(drivers)) {
    it(`in ${state}`, () => {
      const h = drive();
      expect(h.state).toBe(state);
      h.send({ type: 'hangup' });
      expect(h.state).toBe('ended');
      expect(h.flow.result).toBe('caller-hung-up');
      expect(h.masked).toBe(false);
      expect(h.secureWindow).toBe(false);
      expect(h.recordingPaused).toBe(false);
      expect(h.effects.at(-1)).toEqual({ type: 'release' });
      expect(h.effects).toContainEqual({ type: 'discard-card' });
    });
  }

  for (const field of ['card-number', 'expiry', 'security-code'] as const) {
    it(`while keying the ${field}`, () => {
      const h = direct().toCardNumber();
      if (field !== 'card-number') h.keys(VISA);
      if (field === 'security-code') h.keys('1230');
      h.keys('1');
      expect(h.flow.field).toBe(field);
      const out = h.send({ type: 'hangup' });
      expect(out).toContainEqual({ type: 'secure-window', on: false });
      expect(out).toContainEqual({ type: 'recording', action: 'resume' });
      expect(out).toContainEqual({ type: 'mask', on: false });
      expect(h.flow.result).toBe('caller-hung-up');
    });
  }

  it('after the end, a hang-up only releases once', () => {
    const h = direct().toCardNumber();
    h.keys(`${VISA}1230123`);
    h.send({ type: 'authorisation-result', outcome: { kind: 'declined', reason: 'generic-decline' } });
    expect(h.send({ type: 'hangup' })).toEqual([{ type: 'mask', on: false }, { type: 'release' }]);
    expect(h.send({ type: 'hangup' })).toEqual([]);
  });
});

describe('recorder', () => {
  it('waits and says so when the recorder cannot pause, then gives up on its timer', () => {
    const h = direct();
    h.start();
    h.keys('1001#');
    h.findOrder();
    h.send({ type: 'recording-pause-failed', reason: 'webhook 503' });
    expect(h.lastProgress()).toEqual({ type: 'waiting-for-recorder', reason: 'webhook 503' });
    expect(h.state).toBe('securing');
    // No capture while the recording is not known to be paused: keys are discarded, and the agent told so.
    expect(h.keys('42')).toEqual([
      { type: 'progress', event: { type: 'keyed-early', count: 1 } },
      { type: 'progress', event: { type: 'keyed-early', count: 2 } },
    ]);
    expect(h.vault.progress(h.ref, 'card-number').length).toBe(0);
    h.expireTimer();
    expect(h.flow.result).toBe('internal-error');
    expect(h.recordingPaused).toBe(false);
    expect(h.secureWindow).toBe(false);
    // The window never opened: no secure-on, so no secure-off either.
    expect(h.progress().some((p) => p.type === 'secure-on' || p.type === 'secure-off')).toBe(false);
  });
});

describe('keys typed while the secure window opens', () => {
  /** Direct pay up to the window opening: the order found, the recorder not answered yet. */
  function securing(): FlowHarness {
    const h = direct();
    h.start();
    h.keys('1001#');
    h.findOrder();
    expect(h.state).toBe('securing');
    return h;
  }

  it('go to the card number: once the recorder has paused, the field starts with them and its prompt plays until the next key', () => {
    const h = securing();
    expect(h.keys(VISA.slice(0, 6))).toEqual([]);
    const opened = h.ackRecorder();
    expect(opened.flatMap((e) => (e.type === 'progress' ? [e.event] : []))).toEqual([
      { type: 'secure-on' },
      { type: 'field-started', field: 'card-number', attempt: 1 },
      { type: 'digit-entered', field: 'card-number', count: 6 },
    ]);
    expect(h.state).toBe('collecting-card');
    expect(h.promptIds()).toEqual(['amount-is', 'say:amount', 'enter-card-number']);
    // The caller keys on: a barge-in, and the digits keyed ahead are kept.
    expect(h.keys(VISA.slice(6, 7))).toContainEqual({ type: 'stop-playback' });
    h.keys(VISA.slice(7));
    expect(h.progress()).toContainEqual({ type: 'field-complete', field: 'card-number', valid: true, brand: 'visa', last4: '4242' });
    expect(h.promptIds()).toEqual(['enter-expiry']);
    h.keys('1230123');
    expect(h.state).toBe('authorising');
    assertNoCardData(h);
  });

  it('a stray key before the window opened (a double press at the amount) is dropped once the prompt has played through', () => {
    const h = direct({ confirmAmount: true });
    h.start();
    h.keys('1001#');
    h.findOrder();
    h.keys('11');
    expect(h.state).toBe('securing');
    h.ackRecorder();
    expect(h.progress()).toContainEqual({ type: 'digit-entered', field: 'card-number', count: 1 });
    h.finishPrompt();
    expect(h.lastProgress()).toEqual({ type: 'field-restarted', field: 'card-number' });
    expect(h.vault.progress(h.ref, 'card-number').length).toBe(0);
    expect(h.timer?.timer).toBe('first-digit');
    h.keys(VISA);
    expect(h.progress()).toContainEqual({ type: 'field-complete', field: 'card-number', valid: true, brand: 'visa', last4: '4242' });
  });

  it('a whole card number keyed early is taken on its length (the # after it absorbed); the amount is said before the next prompt', () => {
    const h = securing();
    h.keys(`${VISA}#12`);
    expect(h.progress().filter((p) => p.type === 'keyed-early')).toEqual([
      { type: 'keyed-early', count: 1 },
      { type: 'keyed-early', count: 2 },
    ]);
    h.ackRecorder();
    expect(h.progress()).toContainEqual({ type: 'digit-entered', field: 'card-number', count: 16 });
    expect(h.progress()).toContainEqual({ type: 'field-complete', field: 'card-number', valid: true, brand: 'visa', last4: '4242' });
    expect(h.flow.field).toBe('expiry');
    expect(h.promptIds()).toEqual(['amount-is', 'say:amount', 'enter-expiry']);
    h.keys('1230');
    // Said once: not again before the security code.
    expect(h.promptIds()).toEqual(['enter-security-code']);
    h.keys('123');
    expect(h.state).toBe('authorising');
    assertNoCardData(h);
  });

  it('# ends a short field keyed early: refused once the window opens, with its error prompt; * restarts it, after # too', () => {
    const h = securing();
    h.keys('4242#*');
    h.keys('42#');
    h.ackRecorder();
    expect(h.progress()).toContainEqual({ type: 'digit-entered', field: 'card-number', count: 2 });
    expect(h.progress()).toContainEqual({ type: 'field-error', field: 'card-number', error: 'invalid-card-number', attempt: 1, attemptsLeft: 2 });
    expect(h.promptIds()).toEqual(['amount-is', 'say:amount', 'error-invalid-card-number', 'enter-card-number']);
    expect(h.vault.progress(h.ref, 'card-number').length).toBe(0);
  });

  it('with nothing keyed, the window opens on the prompt as before', () => {
    const h = securing();
    h.keys('#*');
    h.ackRecorder();
    expect(h.promptIds()).toEqual(['amount-is', 'say:amount', 'enter-card-number']);
    expect(h.progress().some((p) => p.type === 'digit-entered')).toBe(false);
  });

  it('agent-assisted: keys after the agent asks for a field are the field\'s; asked again, they stay; switched to another field, they go', () => {
    const h = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER, autoCapture: false });
    h.start();
    h.send({ type: 'agent-command', command: { type: 'capture', field: 'card-number' } });
    expect(h.state).toBe('securing');
    h.keys('4242');
    h.send({ type: 'agent-command', command: { type: 'capture', field: 'card-number' } });
    expect(h.vault.progress(h.ref, 'card-number').length).toBe(4);
    h.send({ type: 'agent-command', command: { type: 'capture', field: 'expiry' } });
    expect(h.vault.progress(h.ref, 'card-number').length).toBe(0);
    h.keys('12');
    h.ackRecorder();
    expect(h.flow.field).toBe('expiry');
    expect(h.progress()).toContainEqual({ type: 'digit-entered', field: 'expiry', count: 2 });
    h.keys('30');
    expect(h.progress()).toContainEqual({ type: 'field-complete', field: 'expiry', valid: true });
    assertNoCardData(h);
  });

  it('a recorder that refuses the pause drops what was keyed ahead; a later pause starts the field empty', () => {
    const h = securing();
    h.keys('4242');
    h.send({ type: 'recording-pause-failed', reason: 'webhook 503' });
    expect(h.vault.progress(h.ref, 'card-number').length).toBe(0);
    h.keys('4');
    expect(h.lastProgress()).toEqual({ type: 'keyed-early', count: 1 });
    h.ackRecorder();
    expect(h.promptIds()).toEqual(['amount-is', 'say:amount', 'enter-card-number']);
    expect(h.progress().some((p) => p.type === 'digit-entered')).toBe(false);
  });
});

describe('agent-assisted', () => {
  it('captures every field by itself after a short intro when autoCapture is on', () => {
    const h = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER });
    h.start();
    expect(h.state).toBe('securing');
    h.ackRecorder();
    expect(h.promptIds()).toEqual(['agent-capture-intro', 'enter-card-number']);
    h.keys(`${VISA}1230123`);
    expect(h.state).toBe('authorising');
    h.send({ type: 'authorisation-result', outcome: { kind: 'approved', pspReference: 'p', spokenReference: 'R' } });
    // The call goes back to the agent: no goodbye.
    expect(h.promptIds()).toEqual(['payment-approved', 'your-payment-reference-is', 'say:characters']);
  });

  it('lets the agent pick each field, re-capture one, and complete', () => {
    const h = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER, autoCapture: false });
    h.start();
    expect(h.state).toBe('awaiting-agent');
    expect(() => h.send({ type: 'agent-command', command: { type: 'complete' } })).toThrow(CommandRejectedError);

    h.send({ type: 'agent-command', command: { type: 'capture', field: 'expiry' } });
    h.ackRecorder();
    expect(h.flow.field).toBe('expiry');
    expect(h.promptIds()).toEqual(['agent-capture-intro', 'enter-expiry']);
    h.keys('1230');
    expect(h.state).toBe('awaiting-agent');
    // Between fields the window stays open: keys masked, recording paused.
    expect(h.masked).toBe(true);
    expect(h.secureWindow).toBe(true);
    expect(h.recordingPaused).toBe(true);

    h.send({ type: 'agent-command', command: { type: 'capture', field: 'card-number' } });
    expect(h.state).toBe('collecting-card');
    h.keys(VISA);
    h.send({ type: 'agent-command', command: { type: 'capture', field: 'security-code' } });
    h.keys('123');
    expect(() => h.send({ type: 'agent-command', command: { type: 'capture', field: 'expiry' } })).toThrow(CommandRejectedError);
    h.send({ type: 'agent-command', command: { type: 'recapture', field: 'expiry' } });
    expect(h.state).toBe('collecting-card');
    expect(h.promptIds()).toEqual(['enter-expiry']);
    h.keys('1129');
    expect(h.count('secure-window')).toBe(1);
    expect(h.count('recording')).toBe(1);
    h.send({ type: 'agent-command', command: { type: 'complete' } });
    expect(h.state).toBe('authorising');
    expect(h.secureWindow).toBe(false);
    expect(h.recordingPaused).toBe(false);
  });

  it('asks the caller to confirm the card when the agent completes, if configured', () => {
    const h = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER, autoCapture: false, confirmCard: true });
    h.start();
    for (const [field, keys] of [['card-number', VISA], ['expiry', '1230'], ['security-code', '123']] as const) {
      h.send({ type: 'agent-command', command: { type: 'capture', field } });
      if (h.state === 'securing') h.ackRecorder();
      h.keys(keys);
    }
    h.send({ type: 'agent-command', command: { type: 'complete' } });
    expect(h.state).toBe('confirming-card');
    expect(h.secureWindow).toBe(true);
    h.send({ type: 'agent-command', command: { type: 'recapture', field: 'security-code' } });
    expect(h.state).toBe('collecting-card');
    expect(h.flow.field).toBe('security-code');
  });

  it('switches field mid-entry without counting an error', () => {
    const h = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER });
    h.start();
    h.ackRecorder();
    h.keys('4242');
    h.send({ type: 'agent-command', command: { type: 'recapture', field: 'card-number' } });
    expect(h.flow.field).toBe('card-number');
    h.keys(VISA);
    expect(h.flow.field).toBe('expiry');
    expect(h.progress().filter((p) => p.type === 'field-error')).toEqual([]);
  });

  it('cancels with masking off and recording resumed; rejects commands once authorising', () => {
    const h = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER });
    h.start();
    h.ackRecorder();
    h.keys('42');
    h.send({ type: 'agent-command', command: { type: 'cancel' } });
    expect(h.flow.result).toBe('cancelled');
    expect(h.secureWindow).toBe(false);
    expect(h.recordingPaused).toBe(false);
    // Keys stay masked while "payment cancelled" plays, until the call is handed back.
    expect(h.masked).toBe(true);
    h.finishPrompt();
    expect(h.masked).toBe(false);

    const a = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER });
    a.start();
    a.ackRecorder();
    a.keys(`${VISA}1230123`);
    expect(() => a.send({ type: 'agent-command', command: { type: 'cancel' } })).toThrow(CommandRejectedError);
  });

  it('masks and discards keys the caller presses before the agent asks for a field, and says so', () => {
    const h = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER, autoCapture: false });
    expect(h.start()).toEqual([{ type: 'mask', on: true }, { type: 'progress', event: { type: 'waiting-for-agent' } }]);
    // The whole card, keyed at once before any prompt.
    const early = h.keys(`${VISA}1230123`);
    expect(early.every((e) => e.type === 'progress' && e.event.type === 'keyed-early')).toBe(true);
    expect(h.progress().filter((p) => p.type === 'keyed-early').at(-1)).toEqual({ type: 'keyed-early', count: 23 });
    expect(h.masked).toBe(true);
    // Nothing reached the card entry: the field the agent asks for starts empty.
    h.send({ type: 'agent-command', command: { type: 'capture', field: 'card-number' } });
    h.ackRecorder();
    expect(h.flow.field).toBe('card-number');
    expect(h.progress().filter((p) => p.type === 'digit-entered')).toEqual([]);
    assertNoCardData(h);
  });

  it('keeps the secure window open between fields: an early key is masked, unrecorded and discarded', () => {
    const h = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER, autoCapture: false });
    h.start();
    h.send({ type: 'agent-command', command: { type: 'capture', field: 'card-number' } });
    h.ackRecorder();
    h.keys(VISA);
    expect(h.state).toBe('awaiting-agent');
    // The caller keys the expiry before the agent asks for it.
    expect(h.keys('1230')).toEqual([1, 2, 3, 4].map((count) => ({ type: 'progress', event: { type: 'keyed-early', count } })));
    expect(h.secureWindow).toBe(true);
    expect(h.recordingPaused).toBe(true);
    h.send({ type: 'agent-command', command: { type: 'capture', field: 'expiry' } });
    // Same window: no second pause, the prompt plays at once, the field is empty.
    expect(h.count('recording')).toBe(1);
    expect(h.flow.field).toBe('expiry');
    expect(h.promptIds()).toEqual(['enter-expiry']);
    h.keys('1230');
    expect(h.state).toBe('awaiting-agent');
    const progress = h.progress().map((p) => p.type);
    expect(progress.filter((t) => t === 'secure-on')).toHaveLength(1);
    expect(progress).not.toContain('secure-off');
  });

  it('keeps keys masked from the caller joining until the call is handed back, in every state', () => {
    const h = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER, autoCapture: false, confirmCard: true });
    const maskedAfterEachStep: boolean[] = [];
    const step = (run: () => void): void => {
      run();
      maskedAfterEachStep.push(h.masked);
    };
    step(() => h.start());
    step(() => h.keys('5'));
    step(() => h.send({ type: 'agent-command', command: { type: 'capture', field: 'card-number' } }));
    step(() => h.ackRecorder());
    step(() => h.keys(VISA));
    step(() => h.send({ type: 'agent-command', command: { type: 'capture', field: 'expiry' } }));
    step(() => h.keys('1230'));
    step(() => h.send({ type: 'agent-command', command: { type: 'capture', field: 'security-code' } }));
    step(() => h.keys('123'));
    step(() => h.send({ type: 'agent-command', command: { type: 'complete' } }));
    step(() => h.keys('1'));
    step(() => h.send({ type: 'authorisation-result', outcome: { kind: 'approved', pspReference: 'p', spokenReference: 'R' } }));
    expect(maskedAfterEachStep.every(Boolean)).toBe(true);
    expect(h.count('mask')).toBe(1);
    h.finishPrompt();
    expect(h.masked).toBe(false);
    expect(h.effects.slice(-2)).toEqual([{ type: 'mask', on: false }, { type: 'release' }]);
  });

  it('needs the order from the session', () => {
    expect(() => new FlowHarness({ mode: 'agent-assisted' })).toThrow(TypeError);
  });

  it('refuses field commands on a direct-pay call', () => {
    const h = direct().toCardNumber();
    expect(() => h.send({ type: 'agent-command', command: { type: 'recapture', field: 'expiry' } })).toThrow(CommandRejectedError);
    h.send({ type: 'agent-command', command: { type: 'cancel' } });
    expect(h.flow.result).toBe('cancelled');
  });
});

/** Direct pay on a mobile: the amount has been read out with the link offer. */
function linkOffered(options: Partial<ConstructorParameters<typeof FlowHarness>[0]> = {}): FlowHarness {
  const h = direct({ linkOffer: { phoneEnding: '789' }, ...options });
  h.start();
  h.keys('1001#');
  h.findOrder();
  return h;
}

describe('payment link by text message (direct pay, caller on a mobile)', () => {
  it('offers 9 after the amount, reads back the number ending, sends on 1 and ends link-sent', () => {
    const h = linkOffered();
    expect(h.state).toBe('offering-link');
    expect(h.promptIds()).toEqual(['amount-is', 'say:amount', 'link-offer', 'link-offer-keypad']);
    // No card field is open while the offer plays: the window is closed, recording runs, keys are masked.
    expect(h.secureWindow).toBe(false);
    expect(h.recordingPaused).toBe(false);
    expect(h.masked).toBe(true);

    h.keys('9');
    expect(h.state).toBe('confirming-link-number');
    expect(h.promptIds()).toEqual(['link-confirm-number', 'say:characters', 'link-confirm-keys']);
    expect(h.lastPlay?.items[1]).toEqual({ say: 'characters', value: '789' });

    const send = h.keys('1');
    expect(send).toContainEqual({ type: 'send-link' });
    expect(h.state).toBe('sending-link');
    expect(h.count('send-link')).toBe(1);

    const done = h.send({ type: 'link-send-result', sent: true });
    expect(done).toContainEqual({ type: 'end', result: 'link-sent' });
    expect(h.flow.result).toBe('link-sent');
    expect(h.promptIds()).toEqual(['link-on-its-way', 'goodbye']);
    expect(h.finishPrompt()).toEqual([{ type: 'mask', on: false }, { type: 'release' }]);
    expect(h.count('secure-window')).toBe(0);
    assertNoCardData(h);
  });

  it('goes on to the card on 1, or when nobody answers the offer', () => {
    const a = linkOffered();
    a.keys('1');
    expect(a.state).toBe('securing');
    a.ackRecorder();
    expect(a.promptIds()).toEqual(['enter-card-number']);

    const b = linkOffered();
    b.finishPrompt();
    b.expireTimer();
    expect(b.state).toBe('securing');
    expect(b.count('send-link')).toBe(0);
  });

  it('drops other keys during the offer (masked, never card data) and says so', () => {
    const h = linkOffered();
    h.keys('4');
    expect(h.state).toBe('offering-link');
    expect(h.lastProgress()).toEqual({ type: 'keyed-early', count: 1 });
  });

  it('goes on to the card when the caller says the number is not theirs, or does not answer', () => {
    const a = linkOffered();
    a.keys('92');
    expect(a.state).toBe('securing');
    expect(a.count('send-link')).toBe(0);

    const b = linkOffered();
    b.keys('9');
    b.finishPrompt();
    b.expireTimer();
    expect(b.state).toBe('securing');
    b.ackRecorder();
    expect(b.promptIds()).toEqual(['error-input-timeout', 'enter-card-number']);
  });

  it('says so and goes on to the card when the text message could not be sent', () => {
    const h = linkOffered();
    h.keys('91');
    h.send({ type: 'link-send-result', sent: false });
    expect(h.state).toBe('securing');
    h.ackRecorder();
    expect(h.promptIds()).toEqual(['link-not-sent', 'enter-card-number']);
  });

  it('adds the offer to the amount confirmation when it is asked for', () => {
    const h = linkOffered({ confirmAmount: true });
    expect(h.state).toBe('confirming-amount');
    expect(h.promptIds()).toEqual(['amount-is', 'say:amount', 'confirm-amount', 'link-offer']);
    h.finishPrompt();
    h.expireTimer();
    expect(h.promptIds()).toEqual(['error-input-timeout', 'amount-is', 'say:amount', 'confirm-amount', 'link-offer']);
    h.keys('9');
    expect(h.state).toBe('confirming-link-number');
  });

  it('offers again after too many card attempts, with the card wiped and the window closed first', () => {
    const h = linkOffered();
    h.keys('1');
    h.ackRecorder();
    const out = h.keys(`${VISA_BAD_LUHN}#${VISA_BAD_LUHN}#${VISA_BAD_LUHN}#`);
    expect(h.state).toBe('offering-link');
    const types = out.map((e) => e.type);
    expect(types.lastIndexOf('discard-card')).toBeLessThan(types.lastIndexOf('play'));
    expect(out).toContainEqual({ type: 'secure-window', on: false });
    expect(out).toContainEqual({ type: 'recording', action: 'resume' });
    expect(h.secureWindow).toBe(false);
    expect(h.promptIds()).toEqual(['error-invalid-card-number', 'too-many-attempts', 'link-offer']);
    h.keys('91');
    h.send({ type: 'link-send-result', sent: true });
    expect(h.flow.result).toBe('link-sent');
    assertNoCardData(h);
  });

  it('after too many attempts, silence, a refusal or a failed send ends too-many-failed-attempts', () => {
    const failed = (): FlowHarness => {
      const h = linkOffered();
      h.keys('1');
      h.ackRecorder();
      h.keys(`${VISA_BAD_LUHN}#${VISA_BAD_LUHN}#${VISA_BAD_LUHN}#`);
      return h;
    };
    const silent = failed();
    silent.finishPrompt();
    silent.expireTimer();
    expect(silent.flow.result).toBe('too-many-failed-attempts');
    const refused = failed();
    refused.keys('92');
    expect(refused.flow.result).toBe('too-many-failed-attempts');
    const notSent = failed();
    notSent.keys('91');
    notSent.send({ type: 'link-send-result', sent: false });
    expect(notSent.flow.result).toBe('too-many-failed-attempts');
    expect(notSent.promptIds()).toEqual(['link-not-sent', 'goodbye']);
  });

  it('offers after too many card confirmations refused too', () => {
    const h = linkOffered({ confirmCard: true, maxAttempts: 1 });
    h.keys('1');
    h.ackRecorder();
    h.keys(`${VISA}1230123`);
    expect(h.state).toBe('confirming-card');
    h.keys('2');
    expect(h.state).toBe('offering-link');
    expect(h.secureWindow).toBe(false);
  });

  it('does not offer twice after the amount, and not at all without a mobile number or on agent-assisted calls', () => {
    const declined = linkOffered({ confirmAmount: true });
    declined.keys('92');
    declined.ackRecorder();
    expect(declined.promptIds()).toEqual(['enter-card-number']);

    const landline = direct();
    landline.start();
    landline.keys('1001#');
    landline.findOrder();
    expect(landline.state).toBe('securing');
    landline.ackRecorder();
    landline.keys(`${VISA_BAD_LUHN}#${VISA_BAD_LUHN}#${VISA_BAD_LUHN}#`);
    expect(landline.flow.result).toBe('too-many-failed-attempts');

    const assisted = new FlowHarness({ mode: 'agent-assisted', order: DEMO_ORDER, linkOffer: { phoneEnding: '789' } });
    assisted.start();
    assisted.ackRecorder();
    assisted.keys(`${VISA_BAD_LUHN}#${VISA_BAD_LUHN}#${VISA_BAD_LUHN}#`);
    expect(assisted.flow.result).toBe('too-many-failed-attempts');
  });

  it('a hang-up while the link is being sent waits for the send, which decides', () => {
    const h = linkOffered();
    h.keys('91');
    expect(h.send({ type: 'hangup' })).toEqual([{ type: 'progress', event: { type: 'caller-hung-up' } }]);
    expect(h.state).toBe('sending-link');
    const out = h.send({ type: 'link-send-result', sent: true });
    expect(h.flow.result).toBe('link-sent');
    expect(out.filter((e) => e.type === 'play')).toEqual([]);
    expect(out.at(-1)).toEqual({ type: 'release' });
  });

  it('a hang-up while a failed send is followed ends the call, no card asked', () => {
    const h = linkOffered();
    h.keys('91');
    h.send({ type: 'hangup' });
    h.send({ type: 'link-send-result', sent: false });
    expect(h.state).toBe('ended');
    expect(h.flow.result).toBe('caller-hung-up');
  });
});

afterAll(() => {
  // Every legal move of the table was made by some test above.
  const table = Object.entries(TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => `${from}->${to}`));
  const missing = table.filter((t) => !observedTransitions.has(t));
  expect(missing, missing.join(", ")).toEqual([]);
});
