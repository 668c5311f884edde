// @ts-check
/**
 * The REST API under /api/v1, same origin. The HttpOnly session cookie rides
 * along; the page never sees or stores the token.
 */

const MESSAGES = {
  'invalid-credentials': 'Wrong username or password.',
  'too-many-attempts': 'Too many sign-in attempts. Wait a minute and try again.',
  unauthorised: 'You are signed out. Sign in again.',
  forbidden: 'This payment belongs to another agent.',
  'not-found': 'No such payment.',
  'caller-not-joined': 'The caller is not on the payment line yet.',
  'not-captured': 'Nothing is captured yet: void it, or capture first.',
  'already-captured': 'It was captured already.',
  'already-reversed': 'It was refunded or voided already.',
  'nothing-to-reverse': 'Nothing is left to refund or void.',
  'amount-too-large': 'The amount is more than is left.',
  'capture-not-manual': 'The payment provider captured it at once.',
  'command-rejected': 'The payment line refused this',
  'invalid-request': 'Check the form',
  network: 'The server cannot be reached. Check the connection and try again.',
  'internal-error': 'The server had a problem. Try again.',
};

const FIELD_NAMES = {
  amount: 'amount',
  currency: 'currency',
  reference: 'reference',
  description: 'description',
  agentUri: 'call-back SIP URI',
  username: 'username',
  password: 'password',
};

/** A refused request: `status` (0 when the server could not be reached), the API's error code and a sentence for the agent. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ error?: string, field?: string, message?: string } | null} body
   */
  constructor(status, body) {
    super(describe(status, body));
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.error ?? null;
    this.field = body?.field ?? null;
  }
}

/**
 * One API call; resolves with the JSON body (null for 204), rejects with ApiError.
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  /** @type {RequestInit} */
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { error: 'network' });
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/**
 * @param {number} status
 * @param {{ error?: string, field?: string, message?: string } | null} body
 */
function describe(status, body) {
  const code = body?.error;
  /** @type {string} */
  let text = (code && MESSAGES[/** @type {keyof MESSAGES} */ (code)]) ?? `Request failed (${code ?? 'no details'}).`;
  if (code === 'command-rejected') text = `${text}: ${body?.message ?? 'not possible now'}.`;
  if (code === 'invalid-request') {
    const field = body?.field ? FIELD_NAMES[/** @type {keyof FIELD_NAMES} */ (body.field)] ?? body.field : '';
    text = `${text}: ${field ? `${field} — ` : ''}${body?.message ?? 'invalid value'}.`;
  }
  return status ? `${text} (HTTP ${status})` : text;
}
