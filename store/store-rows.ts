import type { Actor } from '../domain/actor.js';
import type { CardBrand } from '../domain/card-brand.js';
import {
  AUTHORISATION_STATE_TRANSITIONS,
  PAYMENT_STATUS_TRANSITIONS,
  REVERSAL_STATE_TRANSITIONS,
  type AuthorisationState,
  type PaymentModificationKind,
  type ReversalState,
} from '../domain/payment-lifecycle.js';
import type { DeclineReason, PaymentStatus } from '../domain/payment-types.js';
import type { ChainedRow } from './audit-chain.js';
import type { AuditEntry } from './audit-log.js';
import type { ApiKeyRecord, Role, UserRecord } from './identity-store.js';
import type { AuthorisationRecord, CaptureAttemptRecord, NodeRecord, PaymentQuery, PaymentSessionRecord, PaymentSessionUpdate } from './payment-store.js';
import type { PspNotificationRecord, ReversalRecord, StoredTokenRecord } from './psp-record-store.js';
import {
  AuthorisationNotFoundError,
  InvalidAuthorisationTransitionError,
  InvalidReversalTransitionError,
  InvalidStatusTransitionError,
  PaymentNotFoundError,
  ReversalNotFoundError,
} from './store-errors.js';
import type { RowLifecycle } from './state-change.js';

/*
 * The tables' rows as both adapters read them (the same columns in SQLite
 * and PostgreSQL, migrations.ts), their mapping to the port's records, and
 * the rules of the rows that have a lifecycle.
 */

export interface SessionRow {
  id: string;
  mode: PaymentSessionRecord['mode'];
  reference: string;
  amount_minor: number;
  currency: string;
  description: string | null;
  status: PaymentStatus;
  card_brand: CardBrand | null;
  card_last4: string | null;
  psp_reference: string | null;
  confirmation: string | null;
  auth_code: string | null;
  decline_reason: DeclineReason | null;
  idempotency_key: string | null;
  call_id: string | null;
  language: string | null;
  agent_id: string | null;
  session_code: string | null;
  agent_uri: string | null;
  auto_capture: number;
  tokenise: number;
  customer_reference: string | null;
  stored_card_token: string | null;
  node_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface AttemptRow {
  session_id: string;
  field: CaptureAttemptRecord['field'];
  attempt: number;
  outcome: CaptureAttemptRecord['outcome'];
  at: string;
}

export interface AuthorisationRow {
  idempotency_key: string;
  session_id: string;
  psp: string;
  amount_minor: number;
  currency: string;
  state: AuthorisationState;
  psp_reference: string | null;
  detail: string | null;
  requested_at: string;
  resolved_at: string | null;
}

export interface TokenRow {
  session_id: string;
  psp: string;
  token: string;
  customer: string;
  card_brand: CardBrand | null;
  card_last4: string | null;
  created_at: string;
}

export interface ReversalRow {
  idempotency_key: string;
  session_id: string;
  kind: PaymentModificationKind;
  psp: string;
  amount_minor: number;
  currency: string;
  state: ReversalState;
  psp_reference: string | null;
  detail: string | null;
  actor_kind: Actor['kind'];
  actor_id: string;
  requested_at: string;
  resolved_at: string | null;
}

export interface NotificationRow {
  psp: string;
  event_code: string;
  psp_reference: string;
  original_reference: string | null;
  merchant_reference: string;
  success: number;
  detail: string | null;
  received_at: string;
}

export interface UserRow {
  id: string;
  username: string;
  display_name: string;
  role: Role;
  sip_uri: string | null;
  password_hash: string;
  created_at: string;
  disabled: number;
}

export interface ApiKeyRow {
  id: string;
  name: string;
  role: Role;
  user_id: string | null;
  key_hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface AuditRow {
  seq: number;
  at: string;
  session_id: string | null;
  actor_kind: Actor['kind'];
  actor_id: string;
  action: string;
  detail: string;
  prev_hash: string;
  hash: string;
  /** Null on the rows written before the chain was keyed (migration 5). */
  key_id: string | null;
}

/** Session fields `updateSession` may set, and their columns. */
export const UPDATE_COLUMNS: Readonly<Record<keyof PaymentSessionUpdate, string>> = {
  status: 'status',
  cardBrand: 'card_brand',
  cardLast4: 'card_last4',
  pspReference: 'psp_reference',
  authCode: 'auth_code',
  declineReason: 'decline_reason',
  idempotencyKey: 'idempotency_key',
  callId: 'call_id',
};

/** `listSessions` filters and their columns. */
export const SESSION_FILTERS: Readonly<Record<Exclude<keyof PaymentQuery, 'limit'>, string>> = {
  reference: 'reference',
  confirmation: 'confirmation',
  pspReference: 'psp_reference',
  idempotencyKey: 'idempotency_key',
  status: 'status',
  mode: 'mode',
  agentId: 'agent_id',
  code: 'session_code',
  nodeId: 'node_id',
};

export const SESSION_LIFECYCLE: RowLifecycle<PaymentSessionRecord, PaymentStatus> = {
  transitions: PAYMENT_STATUS_TRANSITIONS,
  stateOf: (s) => s.status,
  notFound: (id) => new PaymentNotFoundError(id),
  illegal: (id, from, to) => new InvalidStatusTransitionError(id, from, to),
};

export const AUTHORISATION_LIFECYCLE: RowLifecycle<AuthorisationRecord, AuthorisationState> = {
  transitions: AUTHORISATION_STATE_TRANSITIONS,
  stateOf: (a) => a.state,
  notFound: (key) => new AuthorisationNotFoundError(key),
  illegal: (key, from, to) => new InvalidAuthorisationTransitionError(key, from, to),
};

export const REVERSAL_LIFECYCLE: RowLifecycle<ReversalRecord, ReversalState> = {
  transitions: REVERSAL_STATE_TRANSITIONS,
  stateOf: (r) => r.state,
  notFound: (key) => new ReversalNotFoundError(key),
  illegal: (key, from, to) => new InvalidReversalTransitionError(key, from, to),
};

export function toSession(r: SessionRow): PaymentSessionRecord {
  return {
    id: r.id,
    mode: r.mode,
    reference: r.reference,
    amountMinor: r.amount_minor,
    currency: r.currency,
    description: r.description,
    status: r.status,
    cardBrand: r.card_brand,
    cardLast4: r.card_last4,
    pspReference: r.psp_reference,
    confirmation: r.confirmation,
    authCode: r.auth_code,
    declineReason: r.decline_reason,
    idempotencyKey: r.idempotency_key,
    callId: r.call_id,
    language: r.language,
    agentId: r.agent_id,
    code: r.session_code,
    agentUri: r.agent_uri,
    autoCapture: r.auto_capture === 1,
    tokenise: r.tokenise === 1,
    customerReference: r.customer_reference,
    storedCardToken: r.stored_card_token,
    nodeId: r.node_id ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toAuthorisation(r: AuthorisationRow): AuthorisationRecord {
  return {
    idempotencyKey: r.idempotency_key,
    sessionId: r.session_id,
    psp: r.psp,
    amountMinor: r.amount_minor,
    currency: r.currency,
    state: r.state,
    pspReference: r.psp_reference,
    detail: r.detail,
    requestedAt: r.requested_at,
    resolvedAt: r.resolved_at,
  };
}

export function toToken(row: TokenRow): StoredTokenRecord {
  return {
    sessionId: row.session_id,
    psp: row.psp,
    token: row.token,
    customer: row.customer,
    cardBrand: row.card_brand,
    cardLast4: row.card_last4,
    createdAt: row.created_at,
  };
}

export function toReversal(r: ReversalRow): ReversalRecord {
  return {
    idempotencyKey: r.idempotency_key,
    sessionId: r.session_id,
    kind: r.kind,
    psp: r.psp,
    amountMinor: r.amount_minor,
    currency: r.currency,
    state: r.state,
    pspReference: r.psp_reference,
    detail: r.detail,
    actor: { kind: r.actor_kind, id: r.actor_id },
    requestedAt: r.requested_at,
    resolvedAt: r.resolved_at,
  };
}

export function toNotification(r: NotificationRow): PspNotificationRecord {
  return {
    psp: r.psp,
    eventCode: r.event_code,
    pspReference: r.psp_reference,
    originalReference: r.original_reference,
    merchantReference: r.merchant_reference,
    success: r.success === 1,
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, string>) : {},
    receivedAt: r.received_at,
  };
}

export function toUser(r: UserRow): UserRecord {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    role: r.role,
    sipUri: r.sip_uri,
    createdAt: r.created_at,
    disabled: r.disabled === 1,
  };
}

export function toApiKey(r: ApiKeyRow): ApiKeyRecord {
  return { id: r.id, name: r.name, role: r.role, userId: r.user_id, createdAt: r.created_at, revokedAt: r.revoked_at };
}

export function chainedRowOf(row: AuditRow): ChainedRow {
  return {
    seq: row.seq,
    at: row.at,
    sessionId: row.session_id,
    actor: { kind: row.actor_kind, id: row.actor_id },
    action: row.action,
    detail: row.detail,
    prevHash: row.prev_hash,
  };
}

export function toAudit(r: AuditRow): AuditEntry {
  return { ...chainedRowOf(r), detail: JSON.parse(r.detail) as Record<string, unknown>, hash: r.hash };
}

export interface NodeRow {
  id: string;
  started_at: string;
  heartbeat_at: string;
}

export function toNode(r: NodeRow): NodeRecord {
  return { id: r.id, startedAt: r.started_at, heartbeatAt: r.heartbeat_at };
}
