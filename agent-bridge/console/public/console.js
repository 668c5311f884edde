// @ts-check
/**
 * The agent console: sign in, create a payment session, give the caller's
 * transfer target, follow the masked progress live and act on the payment.
 * Everything is rendered with textContent: no HTML from data, and no card
 * digit but a complete card's last four (progress.js).
 */
import { api, ApiError } from './api.js';
import { FIELD_LABELS, FIELDS, STATUSES, applyEvent, cardSummary, describeEvent, formatAmount, initialView, linkSummary, toMinorUnits } from './progress.js';
import { SessionStream } from './stream.js';
import { LiveCalls } from './live-calls.js';

/** @typedef {import('./progress.js').PaymentView} PaymentView */
/** @typedef {import('./stream.js').ProgressFrame} ProgressFrame */
/** @typedef {{ kind: string, at: string, text: string, tone: string }} LogEntry */

const FINAL = ['approved', 'declined', 'failed', 'abandoned', 'cancelled', 'error', 'expired'];
/** Events after which the stored session has changed (status, card, PSP reference). */
const REFRESHING = ['caller-connected', 'field-complete', 'authorising', 'approved', 'declined', 'caller-hung-up', 'ended', 'link-sent', 'link-expired', 'link-cancelled', 'sms-delivery'];

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return /** @type {T} */ (el);
}

const ui = {
  loading: $('loading'),
  loginView: $('login-view'),
  loginForm: /** @type {HTMLFormElement} */ ($('login-form')),
  loginError: $('login-error'),
  username: /** @type {HTMLInputElement} */ ($('login-username')),
  password: /** @type {HTMLInputElement} */ ($('login-password')),
  whoami: $('whoami'),
  userName: $('user-name'),
  userRole: $('user-role'),
  logout: /** @type {HTMLButtonElement} */ ($('logout')),
  workView: $('work-view'),
  createForm: /** @type {HTMLFormElement} */ ($('create-form')),
  createError: $('create-error'),
  amount: /** @type {HTMLInputElement} */ ($('amount')),
  currency: /** @type {HTMLInputElement} */ ($('currency')),
  reference: /** @type {HTMLInputElement} */ ($('reference')),
  description: /** @type {HTMLInputElement} */ ($('description')),
  agentUri: /** @type {HTMLInputElement} */ ($('agent-uri')),
  agentUriHint: $('agent-uri-hint'),
  autoCapture: /** @type {HTMLInputElement} */ ($('auto-capture')),
  refresh: /** @type {HTMLButtonElement} */ ($('refresh')),
  searchForm: /** @type {HTMLFormElement} */ ($('search-form')),
  search: /** @type {HTMLInputElement} */ ($('search')),
  sessionList: $('session-list'),
  sessionsEmpty: $('sessions-empty'),
  sessionsError: $('sessions-error'),
  detail: $('detail'),
  detailTitle: $('detail-title'),
  detailStatus: $('detail-status'),
  transfer: $('transfer'),
  transferUri: /** @type {HTMLInputElement} */ ($('transfer-uri')),
  copyUri: /** @type {HTMLButtonElement} */ ($('copy-uri')),
  copyResult: $('copy-result'),
  summary: $('summary'),
  stage: $('stage'),
  secureBadge: $('secure-badge'),
  streamState: $('stream-state'),
  fields: $('fields'),
  actionButtons: /** @type {HTMLButtonElement[]} */ ([...document.querySelectorAll('button[data-action]')]),
  actionResult: $('action-result'),
  moneyGroup: $('money-group'),
  moneyAmount: /** @type {HTMLInputElement} */ ($('money-amount')),
  pspCapture: /** @type {HTMLButtonElement} */ ($('psp-capture')),
  refund: /** @type {HTMLButtonElement} */ ($('refund')),
  void: /** @type {HTMLButtonElement} */ ($('void')),
  release: /** @type {HTMLButtonElement} */ ($('release')),
  linkPhone: /** @type {HTMLInputElement} */ ($('link-phone')),
  sendLink: /** @type {HTMLButtonElement} */ ($('send-link')),
  resendLink: /** @type {HTMLButtonElement} */ ($('resend-link')),
  cancelLink: /** @type {HTMLButtonElement} */ ($('cancel-link')),
  log: $('progress-log'),
};

const liveCalls = new LiveCalls({
  section: $('live-calls'),
  list: $('live-call-list'),
  empty: $('live-calls-empty'),
  error: $('live-calls-error'),
  onStarted: async (sessionId) => {
    await loadSessions();
    await selectSession(sessionId);
  },
  onSignedOut: (err) => handleSignedOut(err),
});

const state = {
  /** @type {{ id: string, displayName: string | null, role: string, sipUri: string | null } | null} */
  me: null,
  /** @type {any[]} */
  sessions: [],
  /** @type {any | null} the selected session as the API gave it */
  selected: null,
  /** @type {any | null} the selected session's latest payment link, with its text's delivery */
  selectedLink: null,
  /** @type {SessionStream | null} */
  stream: null,
  /** Per session: the progress seen so far, so a re-selected session resumes where it was. */
  /** @type {Map<string, { view: PaymentView, log: LogEntry[], lastSeq: number }>} */
  progress: new Map(),
  busy: false,
};

// ---- signing in and out --------------------------------------------------

async function boot() {
  try {
    state.me = await api('GET', '/api/v1/me');
    await showWork();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) ui.loginError.textContent = message(err);
    showLogin();
  } finally {
    ui.loading.hidden = true;
  }
}

function showLogin() {
  closeStream();
  liveCalls.stop();
  state.me = null;
  state.selected = null;
  state.progress.clear();
  ui.whoami.hidden = true;
  ui.workView.hidden = true;
  ui.detail.hidden = true;
  ui.loginView.hidden = false;
  ui.password.value = '';
  ui.username.focus();
}

async function showWork() {
  const me = state.me;
  if (!me) return;
  ui.userName.textContent = me.displayName ?? me.id;
  ui.userRole.textContent = `(${me.role})`;
  ui.agentUriHint.textContent = me.sipUri ? `Empty: your phone on file, ${me.sipUri}` : 'Required: no phone is on file for you.';
  ui.loginView.hidden = true;
  ui.whoami.hidden = false;
  ui.workView.hidden = false;
  liveCalls.start();
  await loadSessions();
}

ui.loginForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  ui.loginError.textContent = '';
  const submit = /** @type {HTMLButtonElement} */ (ui.loginForm.querySelector('button[type=submit]'));
  submit.disabled = true;
  try {
    await api('POST', '/api/v1/auth/login', { username: ui.username.value.trim(), password: ui.password.value });
    ui.password.value = '';
    state.me = await api('GET', '/api/v1/me');
    await showWork();
    ui.amount.focus();
  } catch (err) {
    ui.loginError.textContent = message(err);
    ui.password.select();
  } finally {
    submit.disabled = false;
  }
});

ui.logout.addEventListener('click', async () => {
  // Our own stream first: the server closes it at logout, which is no news here.
  closeStream();
  try {
    await api('POST', '/api/v1/auth/logout');
  } catch {
    // Signed out locally either way; the cookie expires on its own.
  }
  showLogin();
});

/** A 401 anywhere means the sign-in expired: back to the form. */
function handleSignedOut(/** @type {unknown} */ err) {
  if (err instanceof ApiError && err.status === 401) {
    showLogin();
    ui.loginError.textContent = err.message;
    return true;
  }
  return false;
}

// ---- creating a payment --------------------------------------------------

ui.currency.addEventListener('input', () => {
  ui.currency.value = ui.currency.value.toUpperCase();
});

ui.createForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  ui.createError.textContent = '';
  const currency = ui.currency.value.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) return formError(ui.currency, 'Currency: a three-letter code such as EUR.');
  const amount = toMinorUnits(ui.amount.value, currency);
  if (amount === null) return formError(ui.amount, `Amount: a number such as 42.50 (at most the decimals ${currency} has).`);
  const reference = ui.reference.value.trim();
  if (!reference) return formError(ui.reference, 'Reference: required.');
  const agentUri = ui.agentUri.value.trim();
  if (agentUri && !/^sips?:\S+$/.test(agentUri)) return formError(ui.agentUri, 'Call me back at: a SIP URI such as sip:me@pbx.example.');
  const description = ui.description.value.trim();
  const body = {
    amount,
    currency,
    reference,
    ...(description ? { description } : {}),
    ...(agentUri ? { agentUri } : {}),
    autoCapture: ui.autoCapture.checked,
  };
  const submit = /** @type {HTMLButtonElement} */ (ui.createForm.querySelector('button[type=submit]'));
  submit.disabled = true;
  try {
    const created = await api('POST', '/api/v1/sessions', body);
    ui.amount.value = '';
    ui.reference.value = '';
    ui.description.value = '';
    await loadSessions();
    await selectSession(created.id);
    // Straight to the transfer target: it is what the agent needs next.
    ui.transferUri.focus();
    ui.transferUri.select();
  } catch (err) {
    if (handleSignedOut(err)) return;
    const field = err instanceof ApiError && err.field ? ui.createForm.elements.namedItem(err.field) : null;
    formError(field instanceof HTMLInputElement ? field : null, message(err));
  } finally {
    submit.disabled = false;
  }
});

/**
 * @param {HTMLInputElement | null} input
 * @param {string} text
 */
function formError(input, text) {
  ui.createError.textContent = text;
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.addEventListener('input', () => input.removeAttribute('aria-invalid'), { once: true });
    input.focus();
  }
}

// ---- the session list ----------------------------------------------------

async function loadSessions() {
  ui.sessionsError.textContent = '';
  const text = ui.search.value.trim();
  try {
    state.sessions = text ? await findPayments(text) : (await api('GET', '/api/v1/sessions?limit=50')).sessions;
  } catch (err) {
    if (handleSignedOut(err)) return;
    ui.sessionsError.textContent = message(err);
    return;
  }
  renderSessionList();
}

function renderSessionList() {
  ui.sessionsEmpty.hidden = state.sessions.length > 0;
  const items = state.sessions.map((s) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.session = s.id;
    if (state.selected?.id === s.id) button.setAttribute('aria-current', 'true');
    const status = STATUSES[/** @type {keyof STATUSES} */ (s.status)] ?? { text: s.status, tone: 'info' };
    const amount = formatAmount(s.amount, s.currency);
    const when = new Date(s.createdAt).toLocaleString();
    button.append(span('ref', s.reference), span(`badge tone-${status.tone}`, status.text), span('amount', amount), span('when', when));
    // Read as one sentence, not as the four cells run together.
    button.setAttribute('aria-label', `${s.reference}, ${status.text}, ${amount}, created ${when}`);
    button.addEventListener('click', () => void selectSession(s.id));
    const li = document.createElement('li');
    li.append(button);
    return li;
  });
  ui.sessionList.replaceChildren(...items);
}

/**
 * Payments whose confirmation, order reference or PSP reference is `text`:
 * the caller may quote any of them.
 * @param {string} text
 */
async function findPayments(text) {
  const found = await Promise.all(
    ['confirmation', 'reference', 'pspReference'].map((name) =>
      api('GET', `/api/v1/payments?${name}=${encodeURIComponent(text)}`).then(
        (r) => r.payments,
        // One kind of reference the text cannot be (too long, say) finds nothing; signed out stays an error.
        (err) => {
          if (err instanceof ApiError && err.status === 401) throw err;
          return [];
        },
      ),
    ),
  );
  /** @type {Map<string, any>} */
  const byId = new Map();
  for (const payment of found.flat()) byId.set(payment.id, payment);
  return [...byId.values()];
}

ui.searchForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  await loadSessions();
  ui.sessionsEmpty.textContent = ui.search.value.trim() ? 'No payment matches.' : 'No payments yet.';
});

ui.refresh.addEventListener('click', async () => {
  await loadSessions();
  if (state.selected) await reloadSelected();
});

// ---- one session ---------------------------------------------------------

/** @param {string} id */
async function selectSession(id) {
  let session;
  let link;
  try {
    session = await api('GET', `/api/v1/sessions/${encodeURIComponent(id)}`);
    link = await latestLink(id);
  } catch (err) {
    if (!handleSignedOut(err)) ui.sessionsError.textContent = message(err);
    return;
  }
  closeStream();
  state.selected = session;
  state.selectedLink = link;
  let progress = state.progress.get(id);
  if (!progress) {
    progress = { view: initialView(), log: [], lastSeq: 0 };
    state.progress.set(id, progress);
  }
  ui.actionResult.textContent = '';
  ui.copyResult.textContent = '';
  ui.detail.hidden = false;
  renderSessionList();
  renderSession();
  renderProgress();
  const tracked = progress;
  state.stream = new SessionStream(id, {
    after: progress.lastSeq,
    onFrame: (frame) => onFrame(tracked, frame),
    onState: (streamState, failures) => void onStreamState(streamState, failures),
  });
}

async function reloadSelected() {
  const id = state.selected?.id;
  if (!id) return;
  try {
    const session = await api('GET', `/api/v1/sessions/${encodeURIComponent(id)}`);
    const link = await latestLink(id);
    if (state.selected?.id !== id) return;
    state.selectedLink = link;
    // The last action's message was about the session as it was: drop it once the payment moves on.
    if (state.selected.status !== session.status) ui.actionResult.textContent = '';
    state.selected = session;
    const index = state.sessions.findIndex((s) => s.id === id);
    if (index >= 0) state.sessions[index] = session;
    renderSessionList();
    renderSession();
  } catch (err) {
    handleSignedOut(err);
  }
}

/**
 * The session's latest payment link and its text's delivery, or null (none, or the API refused).
 * @param {string} id
 */
async function latestLink(id) {
  try {
    const { links } = await api('GET', `/api/v1/sessions/${encodeURIComponent(id)}/payment-links`);
    return links.at(-1) ?? null;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    return null;
  }
}

function closeStream() {
  if (!state.stream) return;
  const progress = state.progress.get(state.stream.sessionId);
  if (progress) progress.lastSeq = state.stream.lastSeq;
  state.stream.close();
  state.stream = null;
}

function renderSession() {
  const s = state.selected;
  if (!s) return;
  ui.detailTitle.textContent = `Payment ${s.reference}`;
  const status = STATUSES[/** @type {keyof STATUSES} */ (s.status)] ?? { text: s.status, tone: 'info' };
  ui.detailStatus.textContent = status.text;
  ui.detailStatus.className = `badge tone-${status.tone}`;
  ui.detailStatus.dataset.status = s.status;
  ui.transfer.hidden = !s.transferUri;
  ui.transferUri.value = s.transferUri ?? '';
  const rows = [
    ['Amount', formatAmount(s.amount, s.currency)],
    ['Reference', s.reference],
    ['Description', s.description],
    ['Card', cardSummary(s.cardBrand, s.cardLast4)],
    ['Confirmation', s.confirmation],
    ['PSP reference', s.pspReference],
    ['Declined because', s.declineReason],
    ['Captured', capturedText(s)],
    ['Refunded', refundedText(s)],
    ['Card kept for repeat payments', s.token ? `${s.token.psp} token ${s.token.token}` : null],
    ['Payment link', state.selectedLink ? linkSummary(state.selectedLink) : null],
    ['Created', new Date(s.createdAt).toLocaleString()],
  ].filter(([, value]) => value);
  ui.summary.replaceChildren(...rows.flatMap(([term, value]) => [el('dt', String(term)), el('dd', String(value))]));
  const final = FINAL.includes(s.status);
  for (const button of ui.actionButtons) button.disabled = final || state.busy;
  // A caller bridged to the agent stays on the line after the payment: releasing stays possible.
  ui.release.disabled = state.busy || !s.callId;
  // A link goes to a payment not yet paid nor being authorised; resend and cancel act on the link sent.
  const linkable = ['pending', 'capturing', 'link-sent'].includes(s.status) && s.amount > 0;
  ui.sendLink.disabled = state.busy || !linkable;
  ui.resendLink.disabled = state.busy || s.status !== 'link-sent';
  ui.cancelLink.disabled = state.busy || s.status !== 'link-sent';
  // Supervisors only (the API refuses agents too): capture, refund or void an approved payment at the PSP.
  const supervisor = state.me?.role === 'supervisor' && s.status === 'approved';
  const held = (s.reversals ?? []).filter((/** @type {any} */ r) => r.state !== 'refused' && r.state !== 'error');
  const capturable = supervisor && s.capturable > 0;
  const refundable = supervisor && s.refundable > 0;
  const voidable = supervisor && held.every((/** @type {any} */ r) => r.kind !== 'void' && r.kind !== 'refund' && r.kind !== 'capture');
  ui.moneyGroup.hidden = !(capturable || refundable || voidable);
  for (const [button, shown] of /** @type {const} */ ([[ui.pspCapture, capturable], [ui.refund, refundable], [ui.void, voidable]])) {
    button.hidden = !shown;
    button.disabled = !shown || state.busy;
  }
  ui.pspCapture.textContent = capturable ? `Capture (up to ${formatAmount(s.capturable, s.currency)})` : 'Capture';
  ui.refund.textContent = refundable ? `Refund (up to ${formatAmount(s.refundable, s.currency)})` : 'Refund';
}

/** @param {any} s a session as the API gives it */
function capturedText(s) {
  const capture = (s.reversals ?? []).find((/** @type {any} */ r) => r.kind === 'capture' && r.state !== 'refused' && r.state !== 'error');
  if (!capture) return null;
  return `${formatAmount(capture.amount, s.currency)}${capture.state === 'succeeded' ? '' : ' (pending at the PSP)'}`;
}

/** @param {any} s a session as the API gives it */
function refundedText(s) {
  const done = (s.reversals ?? []).filter((/** @type {any} */ r) => r.kind === 'refund' && r.state !== 'refused' && r.state !== 'error');
  if (done.length === 0) return null;
  const total = done.reduce((/** @type {number} */ sum, /** @type {any} */ r) => sum + r.amount, 0);
  const pending = done.some((/** @type {any} */ r) => r.state !== 'succeeded');
  return `${formatAmount(total, s.currency)}${pending ? ' (pending at the PSP)' : ''}`;
}

/**
 * A payment link action on the selected session.
 * @param {'' | '/resend' | '/cancel'} path
 * @param {string} done what to say when it worked
 */
async function linkAction(path, done) {
  const session = state.selected;
  if (!session || state.busy) return;
  const phone = ui.linkPhone.value.trim();
  state.busy = true;
  renderSession();
  try {
    const body = path === '' && phone ? { phone } : {};
    const link = await api('POST', `/api/v1/sessions/${encodeURIComponent(session.id)}/payment-link${path}`, body);
    // The status this message is about: a refresh that finds it is no news that clears it.
    if (state.selected?.id === session.id) state.selected = { ...state.selected, status: link.status };
    ui.actionResult.className = 'message ok';
    ui.actionResult.textContent = path === '/cancel' ? done : `${done} (number ending ${link.phoneEnding}, valid until ${new Date(link.expiresAt).toLocaleTimeString()}).`;
  } catch (err) {
    if (handleSignedOut(err)) return;
    ui.actionResult.className = 'message error';
    ui.actionResult.textContent = `Payment link refused. ${message(err)}`;
  } finally {
    state.busy = false;
    renderSession();
  }
  await reloadSelected();
}
ui.sendLink.addEventListener('click', () => void linkAction('', 'Payment link sent'));
ui.resendLink.addEventListener('click', () => void linkAction('/resend', 'Payment link sent again'));
ui.cancelLink.addEventListener('click', () => void linkAction('/cancel', 'Payment link cancelled at the payment provider.'));

ui.release.addEventListener('click', async () => {
  const session = state.selected;
  if (!session || state.busy) return;
  if (!window.confirm(`Hang up the caller of payment ${session.reference}?`)) return;
  state.busy = true;
  renderSession();
  try {
    await api('POST', `/api/v1/sessions/${encodeURIComponent(session.id)}/release`, {});
    ui.actionResult.className = 'message ok';
    ui.actionResult.textContent = 'The caller was released.';
  } catch (err) {
    if (handleSignedOut(err)) return;
    ui.actionResult.className = 'message error';
    ui.actionResult.textContent = `Release refused. ${message(err)}`;
  } finally {
    state.busy = false;
    renderSession();
  }
});

const MONEY_ACTIONS = {
  'psp-capture': { name: 'Capture', question: 'Capture', at: '' },
  refund: { name: 'Refund', question: 'Refund', at: ' to the card ending ' },
  void: { name: 'Void', question: 'Void (cancel) the authorisation of', at: '' },
};

for (const button of [ui.pspCapture, ui.refund, ui.void]) {
  button.addEventListener('click', () => void moneyAction(/** @type {keyof MONEY_ACTIONS} */ (button.dataset.money)));
}

/**
 * Capture, refund or void at the PSP, for the amount typed (empty: all).
 * @param {keyof MONEY_ACTIONS} action
 */
async function moneyAction(action) {
  const session = state.selected;
  if (!session || state.busy) return;
  const { name, question, at } = MONEY_ACTIONS[action];
  const typed = ui.moneyAmount.value.trim();
  const amount = typed && action !== 'void' ? toMinorUnits(typed, session.currency) : undefined;
  if (amount === null || amount === 0) {
    ui.actionResult.className = 'message error';
    ui.actionResult.textContent = `${name}: the amount is a number such as 12.50.`;
    ui.moneyAmount.focus();
    return;
  }
  const full = action === 'psp-capture' ? session.capturable : action === 'refund' ? session.refundable : session.amount;
  const shown = formatAmount(amount ?? full, session.currency);
  const target = at ? `${at}${session.cardLast4 ?? '?'}` : '';
  if (!window.confirm(`${question} ${shown} of payment ${session.reference}${target}?`)) return;
  state.busy = true;
  renderSession();
  ui.actionResult.className = 'message';
  ui.actionResult.textContent = `${name} of ${shown}: sending…`;
  try {
    const { reversal, payment } = await api('POST', `/api/v1/sessions/${encodeURIComponent(session.id)}/${action}`, amount !== undefined ? { amount } : {});
    ui.actionResult.className = 'message ok';
    ui.actionResult.textContent = `${name} of ${shown}: ${reversal.state === 'succeeded' ? 'done' : 'accepted, pending at the PSP'}.`;
    ui.moneyAmount.value = '';
    if (state.selected?.id === payment.id) state.selected = payment;
  } catch (err) {
    if (handleSignedOut(err)) return;
    ui.actionResult.className = 'message error';
    ui.actionResult.textContent = `${name} refused. ${message(err)}`;
  } finally {
    state.busy = false;
    renderSession();
  }
  await loadSessions();
}

function renderProgress() {
  const id = state.selected?.id;
  const progress = id ? state.progress.get(id) : undefined;
  if (!progress) return;
  const { view } = progress;
  ui.stage.textContent = view.stage;
  ui.stage.className = `tone-text-${view.tone}`;
  ui.secureBadge.hidden = !view.secure;
  ui.fields.replaceChildren(
    ...FIELDS.map((field) => {
      const f = view.fields[field];
      const li = document.createElement('li');
      li.className = `tone-${f?.tone ?? 'info'}`;
      li.dataset.field = field;
      li.dataset.state = f?.state ?? 'idle';
      li.append(span('name', FIELD_LABELS[field]), span('state', f?.text ?? ''));
      return li;
    }),
  );
  ui.log.replaceChildren(...progress.log.map(logItem));
}

/**
 * @param {{ view: PaymentView, log: LogEntry[], lastSeq: number }} progress
 * @param {ProgressFrame} frame
 */
function onFrame(progress, frame) {
  const { event } = frame;
  applyEvent(progress.view, event);
  progress.lastSeq = frame.seq;
  const { text, tone } = describeEvent(event);
  const kind = event.type === 'digit-entered' ? `digits:${String(event.field)}` : event.type;
  // Early keys of a run update one line too.
  if (event.type === 'keyed-early' && progress.log.at(-1)?.kind === 'keyed-early') progress.log.pop();
  const last = progress.log.at(-1);
  // Keys of one field update one line ("Card number: •••• 8 digits") instead of one line per key.
  const entry = { kind, at: frame.at, text, tone };
  if (last && kind.startsWith('digits:') && last.kind === kind) progress.log[progress.log.length - 1] = entry;
  else progress.log.push(entry);
  if (state.selected?.id !== frame.sessionId) return;
  renderProgress();
  if (REFRESHING.includes(event.type)) void reloadSelected();
}

/**
 * @param {import('./stream.js').StreamState} streamState
 * @param {number} failures
 */
async function onStreamState(streamState, failures) {
  const words = { connecting: 'Connecting…', live: '● Live', reconnecting: 'Reconnecting…', closed: '', 'signed-out': '' };
  ui.streamState.textContent = words[streamState];
  ui.streamState.dataset.state = streamState;
  // Signed out elsewhere (another tab, or the sign-in expired): back to the form.
  if (streamState === 'signed-out') {
    handleSignedOut(new ApiError(401, { error: 'unauthorised' }));
    return;
  }
  // A stream that keeps failing may mean the sign-in expired.
  if (streamState === 'reconnecting' && failures === 2) {
    try {
      await api('GET', '/api/v1/me');
    } catch (err) {
      handleSignedOut(err);
    }
  }
  // Back after a drop: the stored session may have moved on meanwhile.
  if (streamState === 'live') void reloadSelected();
}

// The network is back: reconnect now, resuming after the last seq, rather than at the end of the back-off.
window.addEventListener('online', () => state.stream?.reconnect());

// ---- actions -------------------------------------------------------------

const ACTION_WORDS = { capture: 'Capture', recapture: 'Re-capture', cancel: 'Cancel', complete: 'Complete' };

for (const button of ui.actionButtons) {
  button.addEventListener('click', () => void act(button));
}

/** @param {HTMLButtonElement} button */
async function act(button) {
  const session = state.selected;
  if (!session || state.busy) return;
  const action = /** @type {keyof ACTION_WORDS} */ (button.dataset.action);
  const field = button.dataset.field;
  if (action === 'cancel' && !window.confirm(`Cancel payment ${session.reference}? The caller hears that it was cancelled.`)) return;
  const what = `${ACTION_WORDS[action]}${field ? ` ${FIELD_LABELS[/** @type {keyof FIELD_LABELS} */ (field)].toLowerCase()}` : ''}`;
  state.busy = true;
  renderSession();
  ui.actionResult.className = 'message';
  ui.actionResult.textContent = `${what}: sending…`;
  try {
    const updated = await api('POST', `/api/v1/sessions/${encodeURIComponent(session.id)}/${action}`, field ? { field } : {});
    ui.actionResult.className = 'message ok';
    ui.actionResult.textContent = `${what}: done.`;
    if (state.selected?.id === updated.id) state.selected = updated;
  } catch (err) {
    if (handleSignedOut(err)) return;
    ui.actionResult.className = 'message error';
    ui.actionResult.textContent = `${what} refused. ${message(err)}`;
  } finally {
    state.busy = false;
    renderSession();
  }
  await loadSessions();
}

// ---- copy ----------------------------------------------------------------

ui.copyUri.addEventListener('click', async () => {
  const text = ui.transferUri.value;
  try {
    await navigator.clipboard.writeText(text);
    ui.copyResult.textContent = 'Copied.';
  } catch {
    // No clipboard permission: leave the text selected for Ctrl+C.
    ui.transferUri.focus();
    ui.transferUri.select();
    ui.copyResult.textContent = 'Selected: press Ctrl+C to copy.';
  }
});

// ---- small helpers -------------------------------------------------------

/** @param {LogEntry} entry */
function logItem(entry) {
  const li = document.createElement('li');
  li.className = `tone-${entry.tone}`;
  li.dataset.kind = entry.kind;
  const time = document.createElement('time');
  time.dateTime = entry.at;
  time.textContent = new Date(entry.at).toLocaleTimeString();
  li.append(time, span('text', entry.text));
  return li;
}

/**
 * @param {string} className
 * @param {string} text
 */
function span(className, text) {
  const s = el('span', text);
  s.className = className;
  return s;
}

/**
 * @param {string} tag
 * @param {string} text
 */
function el(tag, text) {
  const e = document.createElement(tag);
  e.textContent = text;
  return e;
}

/** @param {unknown} err */
function message(err) {
  return err instanceof Error ? err.message : String(err);
}

void boot();
