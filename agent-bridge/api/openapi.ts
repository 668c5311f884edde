import { z } from 'zod';
import {
  auditVerificationView,
  auditView,
  bindCallAgentRequest,
  createCallPaymentRequest,
  createSessionRequest,
  errorView,
  fieldCommand,
  listSessionsQuery,
  loginRequest,
  paymentsQueryFields,
  pspCaptureRequest,
  refundRequest,
  reversalResult,
  sessionDetailView,
  sessionView,
  tokenChargeRequest,
  tokenChargeResult,
  updateCallPaymentRequest,
  voidRequest,
} from './api-schemas.js';
import { paymentLinkRequest } from './payment-link-routes.js';

const linkView = z.object({
  id: z.string(),
  url: z.string(),
  expiresAt: z.string(),
  state: z.enum(['active', 'paid', 'declined', 'expired', 'cancelled']),
  provider: z.string(),
  phoneEnding: z.string(),
  status: z.string(),
  pspReference: z.string().nullable(),
  createdAt: z.string(),
  sms: z
    .object({
      provider: z.string(),
      delivery: z.enum(['submitted', 'sent', 'delivered', 'undelivered', 'failed']),
      errorCode: z.string().nullable().describe("The SMS provider's error code (Twilio ErrorCode, Vonage err-code) when undelivered or failed"),
      at: z.string().nullable(),
    })
    .nullable()
    .describe("The text that carried the link, as its provider's signed delivery callbacks report it"),
});

const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'openapi-3.0', io: 'input' });

const jsonBody = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schema(s) } } });
const jsonResponse = (description: string, s: z.ZodType) => ({ description, content: { 'application/json': { schema: schema(s) } } });
const errors = {
  '400': jsonResponse('Invalid request: `field` names the first bad field', errorView),
  '401': jsonResponse('No or bad credentials', errorView),
  '403': jsonResponse('Not your session', errorView),
};

function queryParameters(s: z.ZodObject) {
  return Object.entries(s.shape).map(([name, field]) => ({
    name,
    in: 'query',
    required: !(field as z.ZodType).safeParse(undefined).success,
    schema: schema(field as z.ZodType),
  }));
}

const sessionAction = (summary: string, body?: z.ZodType) => ({
  post: {
    summary,
    security: [{ bearer: [] }, { cookie: [] }],
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    ...(body ? { requestBody: jsonBody(body) } : {}),
    responses: {
      '202': jsonResponse('Applied (`command.applied`, and `command.node` when another node holds the call)', sessionView),
      '409': jsonResponse('Not applied: no call on the session, or not possible in the current state', errorView),
      '504': jsonResponse('Not applied: the node holding the call did not answer in time (STORE=postgres)', errorView),
      ...errors,
    },
  },
});

const linkAction = (summary: string, body?: z.ZodType) => ({
  post: {
    summary,
    security: [{ bearer: [] }, { cookie: [] }],
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    ...(body ? { requestBody: jsonBody(body) } : {}),
    responses: {
      '201': jsonResponse('Sent: the link, its expiry and the session status', linkView),
      '409': jsonResponse('The session cannot take a link now, or has none to cancel', errorView),
      '502': jsonResponse('The PSP or the SMS provider refused or did not answer (audited; nothing was charged)', errorView),
      ...errors,
    },
  },
});

const reversalAction = (summary: string, body: z.ZodType) => ({
  post: {
    summary,
    security: [{ bearer: [] }, { cookie: [] }],
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    requestBody: jsonBody(body),
    responses: {
      '200': jsonResponse('Done: the PSP confirmed it', reversalResult),
      '202': jsonResponse('Accepted: pending at the PSP, or in doubt (sent again with the same idempotency key)', reversalResult),
      '409': jsonResponse('Not possible: not approved, nothing left, amount too large, already refunded or captured, not captured yet, capture not manual', errorView),
      ...errors,
      '403': jsonResponse('Not a supervisor', errorView),
    },
  },
});

/** The OpenAPI 3.0 document of the REST API, generated from the same zod schemas that validate requests. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: { title: 'Secure payment IVR — agent-bridge API', version: '1' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Access token, API key or the admin API key' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'pay_session' },
      },
    },
    paths: {
      '/api/v1/auth/login': {
        post: {
          summary: 'Log in (agents and supervisors)',
          requestBody: jsonBody(loginRequest),
          responses: {
            '200': { description: "Token and cookie (HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS, Max-Age the token's lifetime)" },
            '429': { description: 'Too many failed attempts' },
            ...errors,
          },
        },
      },
      '/api/v1/auth/logout': {
        post: {
          summary: 'Log out: revoke the access tokens the request carries (bearer and cookie) and clear the cookie',
          // Optional: logging out without a valid token only clears the cookie.
          security: [{ bearer: [] }, { cookie: [] }, {}],
          responses: {
            '204': {
              description:
                'Signed out, also when there was nothing to revoke. The token gets 401 from now on, its open streams are closed with code 4401 and new ones refused with 401.',
            },
          },
        },
      },
      '/api/v1/sessions': {
        post: {
          summary: 'Create an agent-assisted payment session',
          security: [{ bearer: [] }, { cookie: [] }],
          requestBody: jsonBody(createSessionRequest),
          responses: { '201': { description: 'Created: id, code, transferUri, status' }, ...errors },
        },
        get: {
          summary: 'List sessions (agents see their own)',
          security: [{ bearer: [] }, { cookie: [] }],
          parameters: queryParameters(listSessionsQuery),
          responses: { '200': { description: 'Sessions' }, ...errors },
        },
      },
      '/api/v1/sessions/{id}': {
        get: {
          summary: 'One session',
          security: [{ bearer: [] }, { cookie: [] }],
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': jsonResponse('The session', sessionDetailView), '404': jsonResponse('No such session', errorView), ...errors },
        },
      },
      '/api/v1/sessions/{id}/audit': {
        get: {
          summary: "The session's audit trail",
          security: [{ bearer: [] }, { cookie: [] }],
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': jsonResponse('Audit entries, oldest first', auditView), '404': jsonResponse('No such session', errorView), ...errors },
        },
      },
      '/api/v1/sessions/{id}/capture': sessionAction('Capture a card field next', fieldCommand),
      '/api/v1/sessions/{id}/recapture': sessionAction('Capture a card field again', fieldCommand),
      '/api/v1/sessions/{id}/cancel': sessionAction('Cancel the payment'),
      '/api/v1/sessions/{id}/complete': sessionAction('Authorise the captured card'),
      '/api/v1/sessions/{id}/release': sessionAction(
        "Release the caller: end the caller's leg (BYE), direct pay or agent-assisted (then the agent's call-back ends too); a payment being authorised still gets its answer. No REFER back to the agent. 409 when no caller is on the line",
      ),
      '/api/v1/sessions/{id}/payment-link': linkAction(
        "Text the caller a link to the PSP's own payment page (the caller's number from the call, or `phone`); the session becomes link-sent, then approved, declined or expired. A pending, capturing or link-sent session, or one made with mode link",
        paymentLinkRequest,
      ),
      '/api/v1/sessions/{id}/payment-link/resend': linkAction('Send a new link to the same number; the one sent before is closed at the PSP'),
      '/api/v1/sessions/{id}/payment-link/cancel': linkAction('Close the link at the PSP; the session is cancelled'),
      '/api/v1/sessions/{id}/psp-capture': reversalAction(
        'Capture at the PSP all or part of a payment authorised only (PSP_CAPTURE=manual; supervisors only). Not /capture, the agent command that captures a card field on the call. The same amount again answers the capture already made',
        pspCaptureRequest,
      ),
      '/api/v1/sessions/{id}/refund': reversalAction('Refund an approved payment, all or part (supervisors only)', refundRequest),
      '/api/v1/sessions/{id}/void': reversalAction('Void (cancel) an approved payment before it is captured or refunded (supervisors only)', voidRequest),
      '/api/v1/tokens/{token}/charges': {
        post: {
          summary: 'Charge a stored card (a merchant-initiated payment on the PSP token of an earlier payment; supervisors and API keys)',
          security: [{ bearer: [] }, { cookie: [] }],
          parameters: [{ name: 'token', in: 'path', required: true, schema: { type: 'string' }, description: 'The PSP token a payment shows in `token.token`' }],
          requestBody: jsonBody(tokenChargeRequest),
          responses: {
            '200': jsonResponse('The same request again: the charge made the first time, as it stands now', tokenChargeResult),
            '201': jsonResponse('Charged, declined or failed: `result` and the payment say which', tokenChargeResult),
            '202': jsonResponse('In doubt: no answer from the PSP; settled later by the same idempotency key', tokenChargeResult),
            '404': jsonResponse('No such token', errorView),
            '409': jsonResponse('The idempotency key was used for another charge, or the token is kept by another PSP', errorView),
            ...errors,
            '403': jsonResponse('Not a supervisor or an API key', errorView),
          },
        },
      },
      '/api/v1/audit/verify': {
        get: {
          summary: 'Recompute the whole audit chain and report its first broken row (supervisors only; the check is audited)',
          security: [{ bearer: [] }, { cookie: [] }],
          responses: {
            '200': jsonResponse('`ok`, the rows read, and when broken the first broken row, its problem and why', auditVerificationView),
            '401': errors['401'],
            '403': jsonResponse('Not a supervisor', errorView),
          },
        },
      },
      '/api/v1/calls': {
        get: {
          summary: 'In-line mode: the live calls relayed to the PBX (supervisors and API keys all, agents their own; caller numbers masked to the last four digits for agents); with INLINE_ROUTE unset, `inline: false` and no calls',
          security: [{ bearer: [] }, { cookie: [] }],
          responses: { '200': { description: '`inline` (whether in-line mode is on) and `calls`: id, callerNumber, startedAt, state, agentId, paymentSessionId' }, '401': errors['401'] },
        },
      },
      '/api/v1/calls/{callId}/agent': {
        post: {
          summary: 'In-line mode: a CTI system binds the live call to an agent, who then sees it in GET /calls (supervisors and CTI keys)',
          security: [{ bearer: [] }, { cookie: [] }],
          parameters: [{ name: 'callId', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: jsonBody(bindCallAgentRequest),
          responses: { '200': { description: 'Bound: {id, agentId}' }, '404': jsonResponse('No such live call', errorView), '422': jsonResponse('No such agent', errorView), ...errors },
        },
      },
      '/api/v1/calls/{callId}/payments': {
        post: {
          summary: "In-line mode: a payment on the live call, captured from the caller's keys at once (a short prompt to the caller only; keys masked towards the PBX until the payment ends). The session resource of /sessions",
          security: [{ bearer: [] }, { cookie: [] }],
          parameters: [{ name: 'callId', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: jsonBody(createCallPaymentRequest),
          responses: {
            '200': jsonResponse('The same idempotency key again on this call: the payment made the first time', sessionView),
            '201': jsonResponse('Started', sessionView),
            '404': jsonResponse('No such live call', errorView),
            '409': jsonResponse('A payment is running on the call', errorView),
            ...errors,
          },
        },
      },
      '/api/v1/calls/{callId}/payments/{id}': {
        post: {
          summary: 'In-line mode: `{capture: field}` captures a field now; `{status: "complete"}` authorises, `{status: "cancel"}` ends the payment',
          security: [{ bearer: [] }, { cookie: [] }],
          parameters: [
            { name: 'callId', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          ],
          requestBody: jsonBody(updateCallPaymentRequest),
          responses: { '202': jsonResponse('Applied', sessionView), '404': jsonResponse('No such call or payment', errorView), '409': jsonResponse('Not possible in the current state', errorView), ...errors },
        },
      },
      '/api/v1/payments': {
        get: {
          summary: 'Payments by order reference, confirmation (the reference the caller heard) or PSP reference; at least one (agents see their own)',
          security: [{ bearer: [] }, { cookie: [] }],
          parameters: queryParameters(paymentsQueryFields),
          responses: { '200': { description: 'Payments' }, ...errors },
        },
      },
    },
  };
}
