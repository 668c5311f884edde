import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDtmfUlaw } from '../../tools/dtmf-audio.js';
import { infoInjectionCsv } from '../qa-csv.js';
import { expectFields, QaContext, QaFailure, type SessionDetail } from './qa-context.js';
import { keyStepsInjection } from '../../tools/sipp/sipp-process.js';
import { TEST_CARDS } from '../../tools/test-cards.js';

/**
 * The QA scenario library: each one a real call (or a few) through the SIPp
 * scenarios of tests/sipp against any deployment, checked against what the
 * payments API then says. Card data: only the public test cards of the
 * sandbox PSP (README "Sandbox test cards"); with a real PSP, use its test
 * mode and its own test cards.
 */
export interface QaScenario {
  readonly name: string;
  readonly description: string;
  /** What the scenario asserts once SIPp's call completed (every one also fails when SIPp does), for --list. */
  readonly checks: string;
  /** Left out of a default run (long, or needs an agent phone); run it by name or with --all. */
  readonly slow?: boolean;
  run(ctx: QaContext): Promise<void>;
}

const { visa: VISA, mastercard: MASTERCARD, amex: AMEX, discover: DISCOVER, declined: DECLINED, insufficientFunds: NO_FUNDS, badLuhn: BAD_LUHN } = TEST_CARDS;
const EXPIRY = '1230';
const PAST_EXPIRY = '0120';
const CODE = '123';
/** Keys just after '#': the order lookup and the recorder's pause take a moment, and keys then are dropped. */
const AFTER_REFERENCE_MS = 1500;

type Step = [keys: string, pauseMs: number];

function steps(ctx: QaContext, name: string, ...keyed: Step[]): string[] {
  return keyStepsInjection(join(ctx.workDir, `${name}.csv`), ...keyed);
}

/** Keys the reference, then `card`, then waits for the IVR to hang up. */
async function keyed(ctx: QaContext, name: string, ...card: Step[]): Promise<void> {
  await ctx.call('direct-pay-keys.xml', ctx.target.payNumber, steps(ctx, name, [`${ctx.reference}#`, AFTER_REFERENCE_MS], ...card));
}

async function rfc4733(ctx: QaContext, pan: string, calls = 1): Promise<void> {
  await ctx.call('direct-pay-rfc4733.xml', ctx.target.payNumber, ['-key', 'ref', ctx.reference, '-key', 'pan', pan, '-key', 'exp', EXPIRY, '-key', 'cvv', CODE], { calls });
}

function attempts(payment: SessionDetail): string {
  return payment.attempts.map((a) => `${a.field}:${a.outcome}`).join(',');
}

function expectAttempts(payment: SessionDetail, expected: string): void {
  if (attempts(payment) !== expected) throw new QaFailure(`attempts ${attempts(payment) || '(none)'}, expected ${expected}`);
}

/** A field error then the right entry: the payment goes through and the refused attempt is on record. */
function captureError(name: string, description: string, first: Step[], expected: string): QaScenario {
  return {
    name,
    description,
    checks: `payment approved; field attempts ${expected}`,
    async run(ctx) {
      await keyed(ctx, name, ...first);
      const payment = await ctx.payment();
      expectFields('payment', payment, { status: 'approved' });
      expectAttempts(payment, expected);
    },
  };
}

/** The caller hangs up after `keys`: the payment, if it began, ends abandoned. */
function hangUp(name: string, description: string, keys: (reference: string) => Step[], expectPayment: boolean): QaScenario {
  return {
    name,
    description,
    checks: expectPayment ? 'the payment ends abandoned' : 'no payment started for the reference',
    async run(ctx) {
      await ctx.call('direct-pay-hangup.xml', ctx.target.payNumber, steps(ctx, name, ...keys(ctx.reference)));
      if (!ctx.target.api) return;
      if (!expectPayment) {
        const made = await ctx.paymentsSinceStart();
        if (made.length > 0) throw new QaFailure(`a payment was started: ${made[0]!.status}`);
        return;
      }
      expectFields('payment', await ctx.payment((p) => p.status === 'abandoned'), { status: 'abandoned' });
    },
  };
}

const cardSteps: Step[] = [[VISA, 1500], [EXPIRY, 800], [CODE, 500]];

export const QA_SCENARIOS: readonly QaScenario[] = [
  {
    name: 'direct-rfc4733',
    description: 'direct pay, RFC 4733 keys, approved',
    checks: 'payment approved, visa ending 4242',
    async run(ctx) {
      await rfc4733(ctx, VISA);
      expectFields('payment', await ctx.payment(), { status: 'approved', cardBrand: 'visa', cardLast4: '4242' });
    },
  },
  {
    name: 'direct-info',
    description: 'direct pay, SIP INFO keys, approved',
    checks: 'payment approved, mastercard ending 4444',
    async run(ctx) {
      const csv = join(ctx.workDir, 'info.csv');
      writeFileSync(csv, infoInjectionCsv([{ reference: ctx.reference, card: MASTERCARD, expiry: EXPIRY, securityCode: CODE }]));
      await ctx.call('direct-pay-info.xml', ctx.target.payNumber, ['-inf', csv]);
      expectFields('payment', await ctx.payment(), { status: 'approved', cardBrand: 'mastercard', cardLast4: '4444' });
    },
  },
  {
    name: 'direct-inband',
    description: 'direct pay, in-band tones, approved',
    checks: 'payment approved, amex ending 0005',
    async run(ctx) {
      const audio = join(ctx.workDir, 'inband.ulaw');
      writeDtmfUlaw(audio, [{ waitMs: 1000 }, { keys: `${ctx.reference}#` }, { waitMs: 1500 }, { keys: `${AMEX}${EXPIRY}1234` }, { waitMs: 500 }]);
      await ctx.call('direct-pay-inband.xml', ctx.target.payNumber, ['-key', 'audio', `${audio},1,0`]);
      expectFields('payment', await ctx.payment(), { status: 'approved', cardBrand: 'amex', cardLast4: '0005' });
    },
  },
  captureError('error-invalid-card-number', 'a wrong-Luhn card number, then a good one', [[`${BAD_LUHN}#`, 1500], ...cardSteps], 'card-number:invalid-card-number,card-number:accepted,expiry:accepted,security-code:accepted'),
  captureError('error-invalid-card-type', 'a brand not accepted (Discover), then Visa', [[DISCOVER, 1500], ...cardSteps], 'card-number:invalid-card-type,card-number:accepted,expiry:accepted,security-code:accepted'),
  captureError('error-invalid-date', 'an expiry in the past, then a good one', [[VISA, 1500], [PAST_EXPIRY, 1500], [EXPIRY, 800], [CODE, 500]], 'card-number:accepted,expiry:invalid-date,expiry:accepted,security-code:accepted'),
  captureError('error-invalid-security-code', 'a two-digit security code, then three', [[VISA, 1500], [EXPIRY, 800], ['12#', 1500], [CODE, 500]], 'card-number:accepted,expiry:accepted,security-code:invalid-security-code,security-code:accepted'),
  {
    name: 'error-input-timeout',
    description: 'silence at the card prompt, then the card',
    checks: 'payment approved; field attempts card-number:input-timeout,card-number:accepted,expiry:accepted,security-code:accepted',
    slow: true,
    async run(ctx) {
      // The amount and the card prompt, then the first-digit timeout, then the error prompt starts.
      await keyed(ctx, 'input-timeout', ['', 7000 + ctx.target.firstDigitTimeoutMs], ...cardSteps);
      const payment = await ctx.payment();
      expectFields('payment', payment, { status: 'approved' });
      expectAttempts(payment, 'card-number:input-timeout,card-number:accepted,expiry:accepted,security-code:accepted');
    },
  },
  {
    name: 'declined',
    description: 'a card the bank declines',
    checks: 'payment declined, reason generic-decline',
    async run(ctx) {
      await rfc4733(ctx, DECLINED);
      expectFields('payment', await ctx.payment(), { status: 'declined', declineReason: 'generic-decline' });
    },
  },
  {
    name: 'insufficient-funds',
    description: 'a card with insufficient funds',
    checks: 'payment declined, reason insufficient-funds',
    async run(ctx) {
      await rfc4733(ctx, NO_FUNDS);
      expectFields('payment', await ctx.payment(), { status: 'declined', declineReason: 'insufficient-funds' });
    },
  },
  {
    name: 'unknown-reference',
    description: 'an unknown order reference, then the right one',
    checks: 'payment approved for the right reference; none for the unknown one',
    async run(ctx) {
      await ctx.call('direct-pay-keys.xml', ctx.target.payNumber, steps(ctx, 'unknown-ref', ['9999999#', AFTER_REFERENCE_MS], [`${ctx.reference}#`, AFTER_REFERENCE_MS], ...cardSteps));
      expectFields('payment', await ctx.payment(), { status: 'approved' });
      const strays = ctx.target.api ? await ctx.paymentsSinceStart('9999999') : [];
      if (strays.length > 0) throw new QaFailure('a payment was made for the unknown reference');
    },
  },
  {
    name: 'reference-timeout',
    description: 'a caller who keys nothing: three timeouts, then the IVR hangs up',
    checks: 'the IVR hangs up by itself (SIPp sees its BYE)',
    slow: true,
    async run(ctx) {
      await ctx.call('direct-pay-keys.xml', ctx.target.payNumber, steps(ctx, 'reference-timeout'), { timeoutMs: 150_000 });
    },
  },
  hangUp('hangup-greeting', 'the caller hangs up during the greeting', () => [], false),
  hangUp('hangup-reference', 'the caller hangs up while keying the reference', (ref) => [[ref.slice(0, 2), 300]], false),
  hangUp('hangup-card-number', 'the caller hangs up while keying the card number', (ref) => [[`${ref}#`, AFTER_REFERENCE_MS], [VISA.slice(0, 8), 800]], true),
  hangUp('hangup-expiry', 'the caller hangs up while keying the expiry', (ref) => [[`${ref}#`, AFTER_REFERENCE_MS], [VISA, 1500], ['12', 800]], true),
  hangUp('hangup-security-code', 'the caller hangs up while keying the security code', (ref) => [[`${ref}#`, AFTER_REFERENCE_MS], [VISA, 1500], [EXPIRY, 800], ['1', 800]], true),
  {
    name: 'cancel',
    description: 'the caller cancels the INVITE at once: 487, or answered then BYE; no payment',
    checks: 'SIPp sees 487 to the INVITE, or the call answered and ended by its BYE',
    async run(ctx) {
      await ctx.call('caller-cancel.xml', ctx.target.payNumber, []);
    },
  },
  {
    name: 'agent-assisted',
    description: 'an agent session, the caller transferred to pay-<code>, the agent phone called back and bridged',
    checks: "the agent phone's call completes; the session approved, card ending 4242",
    slow: true,
    async run(ctx) {
      const voice = join(ctx.workDir, 'agent.ulaw');
      writeDtmfUlaw(voice, [{ waitMs: 1000 }]);
      const agent = ctx.agentPhone(voice);
      try {
        const session = await ctx.api<{ id: string; code: string }>('POST', '/api/v1/sessions', {
          amount: 4250,
          currency: 'EUR',
          reference: ctx.reference,
          agentUri: agent.uri,
        });
        await ctx.call('direct-pay-hangup.xml', `pay-${session.code}`, steps(ctx, 'agent-assisted', [VISA, 2500], [EXPIRY, 1500], [CODE, 8000]));
        const agentRun = await agent.done;
        if (agentRun.exitCode !== 0) throw new QaFailure(`the agent phone's call failed (SIPp exit ${agentRun.exitCode})`);
        const payment = await ctx.api<SessionDetail>('GET', `/api/v1/sessions/${session.id}`);
        expectFields('payment', payment, { status: 'approved', cardLast4: '4242' });
      } finally {
        agent.stop();
      }
    },
  },
  {
    name: 'load',
    description: 'concurrent direct-pay calls (--load-calls), all approved',
    checks: 'every call completes; as many payments as calls, all approved',
    slow: true,
    async run(ctx) {
      await rfc4733(ctx, VISA, ctx.target.loadCalls);
      if (!ctx.target.api) return;
      const deadline = Date.now() + 20_000;
      for (;;) {
        const made = await ctx.paymentsSinceStart();
        const approved = made.filter((p) => p.status === 'approved').length;
        if (made.length === ctx.target.loadCalls && approved === made.length) return;
        if (Date.now() > deadline) throw new QaFailure(`${approved} of ${ctx.target.loadCalls} calls approved (${made.length} payments)`);
        await new Promise((r) => setTimeout(r, 500));
      }
    },
  },
];
