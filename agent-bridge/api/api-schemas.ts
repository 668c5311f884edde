import { z } from 'zod';
import { CARD_FIELDS } from '../../domain/payment-types.js';

/** Request and response shapes of the REST API: they validate requests and generate the OpenAPI document. */
export const loginRequest = z
  .object({
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(256),
  })
  .strict();

export const createSessionRequest = z
  .object({
    amount: z.number().int().min(0).max(100_000_000).describe('Amount in minor units (cents, pence)'),
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
    reference: z.string().min(1).max(64).describe("The merchant's order or invoice reference"),
    description: z.string().max(200).optional(),
    agentUri: z
      .string()
      .regex(/^sips?:[^\s]+$/, 'a sip: URI')
      .optional()
      .describe("Where the IVR calls the agent back; default the agent's own SIP URI"),
    language: z.enum(['fr-FR', 'en-GB']).optional(),
    autoCapture: z.boolean().optional().describe('Capture every field without waiting for the agent (default true)'),
    tokenise: z
      .boolean()
      .optional()
      .describe("Store the card at the PSP for repeat payments; the payment then shows the PSP's token (default: true when amount is 0, a store-only session)"),
    customerReference: z.string().min(3).max(64).optional().describe("The merchant's customer the stored card belongs to (default: the session id)"),
    mode: z
      .enum(['agent-assisted', 'link'])
      .optional()
      .describe('link: the caller pays on the PSP page from a text message (POST /sessions/{id}/payment-link), no call; default agent-assisted'),
  })
  .strict();

/** POST /tokens/{token}/charges: a merchant-initiated charge on a stored card. */
export const tokenChargeRequest = z
  .object({
    amount: z.number().int().min(1).max(100_000_000).describe('Amount in minor units (cents, pence)'),
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
    reference: z.string().min(1).max(64).describe("The merchant's order or invoice reference"),
    idempotencyKey: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, '1–64 letters, digits, _ or -')
      .describe('Yours, one per charge: the same request again answers the same charge and never charges twice; with another body it is refused (409)'),
  })
  .strict();

export const refundRequest = z
  .object({ amount: z.number().int().min(1).max(100_000_000).optional().describe('Minor units; default all that is left to refund') })
  .strict();

export const voidRequest = z.object({}).strict();

export const pspCaptureRequest = z
  .object({ amount: z.number().int().min(1).max(100_000_000).optional().describe('Minor units; default the whole authorisation (the PSP releases the rest)') })
  .strict();

export const fieldCommand = z.object({ field: z.enum(CARD_FIELDS as unknown as [string, ...string[]]) }).strict();

export const listSessionsQuery = z
  .object({
    status: z
      .enum(['pending', 'capturing', 'authorising', 'approved', 'declined', 'failed', 'abandoned', 'cancelled', 'in_doubt', 'error', 'link-sent', 'expired'])
      .optional(),
    reference: z.string().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict();

/** GET /payments: find payments by any of the references a caller or the PSP quotes; given together, all must match. */
export const paymentsQueryFields = z
  .object({
    reference: z.string().min(1).max(64).optional().describe("The merchant's order or invoice reference"),
    confirmation: z
      .string()
      .trim()
      .min(1)
      .max(16)
      .transform((c) => c.toUpperCase())
      .optional()
      .describe('The short reference the caller heard and the receipt shows (any case)'),
    pspReference: z.string().min(1).max(64).optional().describe("The PSP's reference of the payment (Stripe pi_…, Adyen pspReference)"),
  })
  .strict();

export const paymentsQuery = paymentsQueryFields.refine((q) => q.reference !== undefined || q.confirmation !== undefined || q.pspReference !== undefined, {
  path: ['reference'],
  message: 'give reference, confirmation or pspReference',
});

export const reversalView = z.object({
  kind: z.enum(['capture', 'refund', 'void']),
  amount: z.number().int(),
  currency: z.string(),
  state: z.enum(['requested', 'pending', 'succeeded', 'refused', 'error', 'in_doubt']),
  pspReference: z.string().nullable(),
  code: z.string().nullable(),
  requestedBy: z.object({ kind: z.string(), id: z.string() }),
  requestedAt: z.string(),
  resolvedAt: z.string().nullable(),
});

export const sessionView = z.object({
  id: z.string(),
  mode: z.enum(['direct', 'agent-assisted', 'merchant-initiated', 'link']),
  code: z.string().nullable(),
  transferUri: z.string().nullable(),
  reference: z.string(),
  status: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  description: z.string().nullable(),
  cardBrand: z.string().nullable(),
  cardLast4: z.string().nullable(),
  pspReference: z.string().nullable(),
  confirmation: z.string().nullable().describe('The short reference the caller heard and the receipt shows; set when approved'),
  declineReason: z.string().nullable(),
  agentId: z.string().nullable(),
  callId: z.string().nullable(),
  tokenise: z.boolean(),
  customerReference: z.string().nullable(),
  storedCardToken: z.string().nullable().describe('Merchant-initiated: the PSP token charged'),
  token: z
    .object({
      psp: z.string(),
      token: z.string().describe('Stripe PaymentMethod pm_…, Adyen storedPaymentMethodId'),
      customer: z.string().describe('Stripe Customer cus_…, Adyen shopperReference'),
      cardBrand: z.string().nullable(),
      cardLast4: z.string().nullable(),
      createdAt: z.string(),
    })
    .nullable(),
  refundable: z.number().int().describe('Minor units still refundable'),
  capturable: z.number().int().describe('Minor units still to capture at the PSP (PSP_CAPTURE=manual: an approved payment nobody captured or voided); else 0'),
  reversals: z.array(reversalView),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const reversalResult = z.object({ reversal: reversalView, payment: sessionView });

export const tokenChargeResult = z.object({
  result: z.enum(['approved', 'declined', 'error', 'in-doubt']).describe('in-doubt: no answer from the PSP yet; the reconciler settles it by the idempotency key'),
  payment: sessionView,
});

/** One session with its field attempts (outcomes only, never what was keyed). */
export const sessionDetailView = sessionView.extend({
  attempts: z.array(
    z.object({ field: z.string(), attempt: z.number().int(), outcome: z.string(), at: z.string() }),
  ),
});

export const auditView = z.object({
  entries: z.array(
    z.object({
      seq: z.number().int(),
      at: z.string(),
      actor: z.object({ kind: z.string(), id: z.string() }),
      action: z.string(),
      detail: z.record(z.string(), z.unknown()),
    }),
  ),
});

/** GET /audit/verify: the whole chain recomputed; when broken, its first broken row and why. */
export const auditVerificationView = z.union([
  z.object({ ok: z.literal(true), rows: z.number().int() }),
  z.object({
    ok: z.literal(false),
    rows: z.number().int(),
    firstBrokenSeq: z.number().int(),
    problem: z.enum(['gap', 'prev-hash-mismatch', 'hash-mismatch']),
    reason: z.string(),
  }),
]);

export const errorView = z.object({ error: z.string(), field: z.string().optional(), message: z.string().optional() });

/** POST /calls/{callId}/payments: a payment on a live in-line call. */
export const createCallPaymentRequest = z
  .object({
    amount: z.number().int().min(0).max(100_000_000).describe('Amount in minor units (cents, pence)'),
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
    reference: z.string().min(1).max(64).describe("The merchant's order or invoice reference"),
    description: z.string().max(200).optional(),
    tokenise: z.boolean().optional().describe("Store the card at the PSP for repeat payments (default: true when amount is 0)"),
    idempotencyKey: z.string().min(8).max(128).describe('The same key on the same call returns the same payment'),
    statusCallback: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional()
      .describe('Each masked progress event is POSTed here as JSON, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA-256>)'),
  })
  .strict();

/** POST /calls/{callId}/agent: a CTI system binds a live call to an agent. */
export const bindCallAgentRequest = z
  .object({ agentId: z.string().min(1).max(128).describe("The agent's user id or username") })
  .strict();

/** POST /calls/{callId}/payments/{id}: capture a field now, or complete or cancel the payment. */
export const updateCallPaymentRequest = z.union([
  z.object({ capture: z.enum(CARD_FIELDS as unknown as [string, ...string[]]) }).strict(),
  z.object({ status: z.enum(['complete', 'cancel']) }).strict(),
]);
