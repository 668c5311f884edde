// @ts-check
/**
 * What the console says about a payment: masked progress events
 * (ARCHITECTURE.md "Masked progress events") turned into words, a per-field
 * summary and the amount. Pure functions, no DOM.
 *
 * Card data rule: the only digits of a card ever shown are the last four of
 * a complete card number, and only when they are exactly four digits. Counts
 * are shown as "•••• 8 digits".
 */

/** @typedef {'info' | 'good' | 'bad' | 'warn'} Tone */
/** @typedef {{ type: string, [key: string]: any }} ProgressEvent */
/** @typedef {{ state: 'idle' | 'active' | 'valid' | 'error', text: string, tone: Tone }} FieldView */
/**
 * @typedef {object} PaymentView
 * @property {string} stage  The headline: where the payment is now.
 * @property {Tone} tone
 * @property {Record<string, FieldView>} fields
 * @property {{ brand: string | null, last4: string | null }} card
 * @property {string | null} pspReference
 * @property {boolean} ended
 * @property {boolean} secure  The secure window is open: recording paused, card keys expected.
 * @property {number} keyedEarly  Keys the caller pressed before a prompt (discarded).
 */

export const FIELDS = /** @type {const} */ (['card-number', 'expiry', 'security-code']);

export const FIELD_LABELS = {
  'card-number': 'Card number',
  expiry: 'Expiry date',
  'security-code': 'Security code',
};

const BRANDS = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
  diners: 'Diners Club',
  jcb: 'JCB',
  unionpay: 'UnionPay',
  maestro: 'Maestro',
};

const CAPTURE_ERRORS = {
  'invalid-card-number': 'invalid card number',
  'invalid-card-type': 'card type not accepted',
  'invalid-date': 'invalid or past expiry date',
  'invalid-security-code': 'invalid security code',
  'input-timeout': 'no keys in time',
  'input-matching-failed': 'caller asked to re-enter the card',
};

const DECLINES = {
  'generic-decline': 'declined by the bank',
  'insufficient-funds': 'insufficient funds',
  'expired-card': 'expired card',
  'incorrect-security-code': 'incorrect security code',
  'card-not-supported': 'card not supported',
  'fraud-suspected': 'fraud suspected',
  'do-not-honour': 'do not honour',
};

const RESULTS = {
  approved: 'approved',
  declined: 'declined',
  'too-many-failed-attempts': 'too many failed attempts',
  'caller-hung-up': 'the caller hung up',
  cancelled: 'cancelled',
  'psp-error': 'payment provider error',
  'in-doubt': 'in doubt, being reconciled',
  'internal-error': 'internal error',
  'already-paid': 'the order was already paid',
  'link-sent': 'the caller chose a payment link by text message',
};

const AGENT_UNAVAILABLE = {
  'no-agent-uri': 'no phone on file for you',
  rejected: 'your phone refused the call',
  'no-answer': 'your phone did not answer',
  failed: 'the call to your phone failed',
};

/** Session statuses (PaymentStatus) as the badge shows them. */
export const STATUSES = {
  pending: { text: 'Waiting for the caller', tone: 'info' },
  capturing: { text: 'Capturing', tone: 'info' },
  authorising: { text: 'Authorising', tone: 'info' },
  approved: { text: 'Approved', tone: 'good' },
  declined: { text: 'Declined', tone: 'bad' },
  failed: { text: 'Failed', tone: 'bad' },
  abandoned: { text: 'Caller hung up', tone: 'bad' },
  cancelled: { text: 'Cancelled', tone: 'warn' },
  in_doubt: { text: 'In doubt', tone: 'warn' },
  error: { text: 'Error', tone: 'bad' },
  'link-sent': { text: 'Payment link sent', tone: 'info' },
  expired: { text: 'Link expired unpaid', tone: 'warn' },
};

/**
 * @param {Record<string, string>} table
 * @param {unknown} key
 */
function label(table, key) {
  return typeof key === 'string' ? (table[key] ?? key.replaceAll('-', ' ')) : 'unknown';
}

/** @param {unknown} field */
function fieldLabel(field) {
  return label(FIELD_LABELS, field);
}

/** @param {unknown} brand */
export function brandName(brand) {
  return label(BRANDS, brand);
}

/**
 * The last four digits, only if they are exactly that; anything else is not rendered.
 * @param {unknown} value
 * @returns {string | null}
 */
export function safeLast4(value) {
  return typeof value === 'string' && /^\d{4}$/.test(value) ? value : null;
}

/**
 * "•••• 8 digits": how many keys, never which.
 * @param {unknown} count
 */
export function maskedCount(count) {
  const n = Number.isInteger(count) ? /** @type {number} */ (count) : 0;
  return `•••• ${n} digit${n === 1 ? '' : 's'}`;
}

/**
 * "Visa •••• 4242", or just the brand, or null.
 * @param {unknown} brand
 * @param {unknown} last4
 */
export function cardSummary(brand, last4) {
  const four = safeLast4(last4);
  if (!brand && !four) return null;
  return [brand ? brandName(brand) : 'Card', four ? `•••• ${four}` : ''].join(' ').trim();
}

/**
 * @param {unknown} attemptsLeft
 */
function attemptsLeftText(attemptsLeft) {
  const n = Number.isInteger(attemptsLeft) ? /** @type {number} */ (attemptsLeft) : 0;
  if (n <= 0) return 'no attempts left';
  return `${n} attempt${n === 1 ? '' : 's'} left`;
}

/**
 * One progress event in a sentence for the live log.
 * @param {ProgressEvent} event
 * @returns {{ text: string, tone: Tone }}
 */
export function describeEvent(event) {
  switch (event.type) {
    case 'caller-connected':
      return { text: 'Caller connected to the payment line', tone: 'info' };
    case 'agent-connected':
      return { text: 'You are connected to the caller (keys are masked)', tone: 'info' };
    case 'agent-unavailable':
      return { text: `Could not call you back: ${label(AGENT_UNAVAILABLE, event.reason)}. The caller continues alone.`, tone: 'warn' };
    case 'agent-hung-up':
      return { text: 'Your phone left the call', tone: 'warn' };
    case 'waiting-for-recorder':
      return { text: 'Waiting for the call recorder to pause', tone: 'warn' };
    case 'waiting-for-agent':
      return { text: 'Waiting for you: choose a field to capture', tone: 'info' };
    case 'secure-on':
      return { text: 'Secure: recording paused, the caller can key the card', tone: 'good' };
    case 'secure-off':
      return { text: 'Card entry over: recording resumed', tone: 'info' };
    case 'keyed-early': {
      const n = Number.isInteger(event.count) ? /** @type {number} */ (event.count) : 0;
      return { text: `The caller keyed before the prompt (${n} key${n === 1 ? '' : 's'} discarded): ask them to wait for it`, tone: 'warn' };
    }
    case 'field-started':
      return { text: `${fieldLabel(event.field)}: caller keying (attempt ${Number(event.attempt) || 1})`, tone: 'info' };
    case 'digit-entered':
      return { text: `${fieldLabel(event.field)}: ${maskedCount(event.count)}`, tone: 'info' };
    case 'field-restarted':
      return { text: `${fieldLabel(event.field)}: restarted by the caller`, tone: 'warn' };
    case 'field-complete': {
      const card = event.field === 'card-number' ? cardSummary(event.brand, event.last4) : null;
      return { text: `${fieldLabel(event.field)} valid${card ? `: ${card}` : ''}`, tone: 'good' };
    }
    case 'field-error':
      return {
        text: `${fieldLabel(event.field)} error: ${label(CAPTURE_ERRORS, event.error)}, ${attemptsLeftText(event.attemptsLeft)}`,
        tone: 'bad',
      };
    case 'authorising':
      return { text: 'Authorising with the payment provider…', tone: 'info' };
    case 'approved':
      return { text: `Approved, PSP reference ${String(event.pspReference ?? '')}`, tone: 'good' };
    case 'declined':
      return { text: `Declined: ${label(DECLINES, event.reason)}`, tone: 'bad' };
    case 'caller-hung-up':
      return { text: 'Caller hung up', tone: 'bad' };
    case 'link-sent':
      return { text: `Payment link texted to the number ending ${String(event.phoneEnding ?? '')}: waiting for the payment page`, tone: 'info' };
    case 'link-expired':
      return { text: event.reason === 'paid-by-keypad' ? 'Payment link closed: the caller pays by keypad' : 'Payment link expired unpaid', tone: 'warn' };
    case 'link-cancelled':
      return { text: 'Payment link cancelled', tone: 'warn' };
    case 'link-failed':
      return { text: `No payment link went out: ${String(event.reason ?? '')}`, tone: 'bad' };
    case 'sms-delivery': {
      const what = event.link ? 'The payment link text' : 'The receipt text';
      const to = `to the number ending ${String(event.phoneEnding ?? '')}`;
      if (event.state === 'delivered') return { text: `${what} was delivered ${to}`, tone: 'good' };
      return { text: `${what} was not delivered ${to}: ${deliveryText(event.state, event.errorCode)}`, tone: 'bad' };
    }
    case 'ended': {
      const good = event.result === 'approved';
      // link-sent: the call is over, the payment is not (the PSP's page settles it).
      const tone = good ? 'good' : event.result === 'link-sent' ? 'info' : event.result === 'cancelled' ? 'warn' : 'bad';
      return { text: `Payment ended: ${label(RESULTS, event.result)}`, tone };
    }
    default:
      return { text: `Update: ${String(event.type)}`, tone: 'info' };
  }
}

const LINK_STATES = {
  active: 'waiting for the payment',
  paid: 'paid',
  declined: 'declined',
  expired: 'expired',
  cancelled: 'cancelled',
};

const DELIVERIES = {
  submitted: 'accepted by the SMS provider',
  sent: 'sent, not yet delivered',
  delivered: 'delivered',
  undelivered: 'not delivered',
  failed: 'failed',
};

/**
 * "not delivered (error 30003)": the SMS provider's word on a text.
 * @param {unknown} delivery
 * @param {unknown} errorCode
 */
export function deliveryText(delivery, errorCode) {
  const code = typeof errorCode === 'string' && /^[\w-]{1,16}$/.test(errorCode) ? ` (error ${errorCode})` : '';
  return `${label(DELIVERIES, delivery)}${code}`;
}

/**
 * The session's latest payment link in a line: its state and what became of
 * the text that carried it ("expired; text to …456 delivered"). The number
 * shows by its last digits only, as the API gives it.
 * @param {{ state?: unknown, phoneEnding?: unknown, sms?: { delivery?: unknown, errorCode?: unknown } | null }} link
 */
export function linkSummary(link) {
  const state = label(LINK_STATES, link.state);
  const ending = typeof link.phoneEnding === 'string' && /^\d{1,4}$/.test(link.phoneEnding) ? link.phoneEnding : '?';
  return `${state}; ${link.sms ? `text to …${ending} ${deliveryText(link.sms.delivery, link.sms.errorCode)}` : 'no text went out'}`;
}

/** @returns {PaymentView} */
export function initialView() {
  /** @type {Record<string, FieldView>} */
  const fields = {};
  for (const field of FIELDS) fields[field] = { state: 'idle', text: 'Not started', tone: 'info' };
  return { stage: 'Waiting for the caller', tone: 'info', fields, card: { brand: null, last4: null }, pspReference: null, ended: false, secure: false, keyedEarly: 0 };
}

/**
 * The view after one more event (the view is updated in place and returned).
 * @param {PaymentView} view
 * @param {ProgressEvent} event
 * @returns {PaymentView}
 */
export function applyEvent(view, event) {
  const field = typeof event.field === 'string' && event.field in view.fields ? view.fields[event.field] : undefined;
  switch (event.type) {
    case 'field-started':
      if (field) Object.assign(field, { state: 'active', text: 'Caller keying…', tone: 'info' });
      break;
    case 'digit-entered':
      if (field) Object.assign(field, { state: 'active', text: maskedCount(event.count), tone: 'info' });
      break;
    case 'field-restarted':
      if (field) Object.assign(field, { state: 'active', text: 'Restarted by the caller', tone: 'warn' });
      break;
    case 'field-complete':
      if (field) {
        const card = event.field === 'card-number' ? cardSummary(event.brand, event.last4) : null;
        Object.assign(field, { state: 'valid', text: card ? `Valid: ${card}` : 'Valid', tone: 'good' });
      }
      if (event.field === 'card-number') view.card = { brand: event.brand ?? null, last4: safeLast4(event.last4) };
      break;
    case 'field-error':
      if (field) {
        Object.assign(field, {
          state: 'error',
          text: `Error: ${label(CAPTURE_ERRORS, event.error)}, ${attemptsLeftText(event.attemptsLeft)}`,
          tone: 'bad',
        });
      }
      break;
    case 'approved':
      view.pspReference = typeof event.pspReference === 'string' ? event.pspReference : null;
      break;
    case 'secure-on':
      view.secure = true;
      break;
    case 'secure-off':
    case 'ended':
      view.secure = false;
      break;
    case 'keyed-early':
      view.keyedEarly = Number.isInteger(event.count) ? /** @type {number} */ (event.count) : view.keyedEarly + 1;
      break;
    default:
      break;
  }
  // The headline follows the latest event until the outcome is known; digit counts stay in the field rows.
  if (event.type !== 'digit-entered' && !view.ended) {
    const { text, tone } = describeEvent(event);
    view.stage = text;
    view.tone = tone;
  }
  if (event.type === 'approved' || event.type === 'declined' || event.type === 'ended') view.ended = true;
  return view;
}

/**
 * Digits a currency has after the decimal point (EUR 2, JPY 0, BHD 3).
 * @param {string} currency
 */
export function minorDigits(currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * "42.50" EUR → 4250; exact (no floating point), "," accepted as the decimal mark.
 * @param {string} text
 * @param {string} currency
 * @returns {number | null} null when the amount is not a plain positive number with at most the currency's decimals
 */
export function toMinorUnits(text, currency) {
  const digits = minorDigits(currency);
  const match = /^(\d{1,9})(?:[.,](\d*))?$/.exec(text.trim().replace(/[\s_]/g, ''));
  if (!match) return null;
  const [, whole = '0', fraction = ''] = match;
  if (fraction.length > digits) return null;
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}

/**
 * 4250, "EUR" → "€42.50" in the browser's locale.
 * @param {number} minor
 * @param {string} currency
 */
export function formatAmount(minor, currency) {
  const digits = minorDigits(currency);
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(minor / 10 ** digits);
  } catch {
    return `${(minor / 10 ** digits).toFixed(digits)} ${currency}`;
  }
}
