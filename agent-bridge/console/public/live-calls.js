// @ts-check
/**
 * In-line mode: the agent's live calls (GET /api/v1/calls, refreshed every
 * few seconds) with "Take payment" on each: amount and reference, then
 * POST /api/v1/calls/{id}/payments, and the console shows that payment's
 * live progress as any other. Hidden when the system is not in in-line
 * mode (the endpoint answers `inline: false`).
 */
import { api } from './api.js';
import { toMinorUnits } from './progress.js';

const REFRESH_MS = 3000;

/**
 * @typedef {{ id: string, callerNumber: string, startedAt: string, state: string, paymentSessionId: string | null }} LiveCall
 * @typedef {{
 *   section: HTMLElement, list: HTMLElement, empty: HTMLElement, error: HTMLElement,
 *   onStarted: (sessionId: string) => Promise<void>, onSignedOut: (err: unknown) => boolean
 * }} LiveCallsOptions
 */

export class LiveCalls {
  /** @param {LiveCallsOptions} options */
  constructor(options) {
    this.options = options;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.timer = undefined;
    /** @type {Map<string, HTMLLIElement>} one item per call, kept across refreshes so a half-filled form survives */
    this.items = new Map();
  }

  start() {
    this.stop();
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
    this.items.clear();
    this.options.list.replaceChildren();
    this.options.section.hidden = true;
  }

  async refresh() {
    /** @type {LiveCall[]} */
    let calls;
    try {
      const answer = await api('GET', '/api/v1/calls');
      if (answer.inline === false) {
        // Not in in-line mode: no calls to show, ever.
        clearInterval(this.timer);
        this.options.section.hidden = true;
        return;
      }
      calls = answer.calls;
    } catch (err) {
      if (!this.options.onSignedOut(err)) this.options.error.textContent = err instanceof Error ? err.message : String(err);
      return;
    }
    this.options.error.textContent = '';
    this.options.section.hidden = false;
    this.options.empty.hidden = calls.length > 0;
    for (const [id, item] of this.items) {
      if (!calls.some((c) => c.id === id)) {
        item.remove();
        this.items.delete(id);
      }
    }
    for (const call of calls) {
      let item = this.items.get(call.id);
      if (!item) {
        item = this.#item(call);
        this.items.set(call.id, item);
        this.options.list.append(item);
      }
      const button = /** @type {HTMLButtonElement} */ (item.querySelector('button[type=submit]'));
      button.disabled = call.paymentSessionId !== null || call.state !== 'connected';
      /** @type {HTMLElement} */ (item.querySelector('.call-state')).textContent = call.paymentSessionId ? 'payment running' : call.state;
    }
  }

  /** @param {LiveCall} call */
  #item(call) {
    const li = document.createElement('li');
    li.className = 'live-call';
    li.dataset.call = call.id;
    const title = document.createElement('p');
    const who = `Call from ${call.callerNumber}`;
    title.append(text('strong', who), text('span', ` since ${new Date(call.startedAt).toLocaleTimeString()} `), text('span', ''));
    /** @type {HTMLElement} */ (title.lastChild).className = 'call-state badge';
    const form = document.createElement('form');
    form.className = 'take-payment';
    form.setAttribute('aria-label', `Take payment on the call from ${call.callerNumber}`);
    const amount = input('amount', `Amount for the call from ${call.callerNumber}`, 'Amount, e.g. 42.50');
    const currency = input('currency', `Currency for the call from ${call.callerNumber}`, 'EUR');
    currency.value = 'EUR';
    currency.maxLength = 3;
    currency.size = 4;
    const reference = input('reference', `Reference for the call from ${call.callerNumber}`, 'Order reference');
    reference.maxLength = 64;
    const submit = document.createElement('button');
    submit.type = 'submit';
    submit.className = 'primary';
    submit.textContent = 'Take payment';
    const error = text('p', '');
    error.className = 'message error';
    error.setAttribute('role', 'alert');
    form.append(amount, currency, reference, submit, error);
    // One key per try of this form: a double click, or a retry after a lost answer, is the same payment.
    let idempotencyKey = newKey();
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      const code = currency.value.trim().toUpperCase();
      const minor = /^[A-Z]{3}$/.test(code) ? toMinorUnits(amount.value, code) : null;
      if (minor === null) return void (error.textContent = 'Amount and currency: a number such as 42.50 and a code such as EUR.');
      if (!reference.value.trim()) return void (error.textContent = 'Reference: required.');
      submit.disabled = true;
      try {
        const payment = await api('POST', `/api/v1/calls/${encodeURIComponent(call.id)}/payments`, { amount: minor, currency: code, reference: reference.value.trim(), idempotencyKey });
        idempotencyKey = newKey();
        amount.value = '';
        reference.value = '';
        await this.options.onStarted(payment.id);
      } catch (err) {
        if (!this.options.onSignedOut(err)) error.textContent = err instanceof Error ? err.message : String(err);
      } finally {
        void this.refresh();
      }
    });
    li.append(title, form);
    return li;
  }
}

/**
 * @param {string} tag
 * @param {string} value
 */
function text(tag, value) {
  const e = document.createElement(tag);
  e.textContent = value;
  return e;
}

/**
 * @param {string} name
 * @param {string} label
 * @param {string} placeholder
 */
function input(name, label, placeholder) {
  const e = document.createElement('input');
  e.name = name;
  e.autocomplete = 'off';
  e.placeholder = placeholder;
  e.setAttribute('aria-label', label);
  return e;
}

/** An idempotency key: 128 random bits (crypto.getRandomValues works outside secure contexts too, unlike randomUUID). */
function newKey() {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
