import type { PaymentStatus } from '../domain/payment-types.js';
import type { AuthorisationState, PaymentLinkState, ReversalState, SmsDeliveryState } from '../domain/payment-lifecycle.js';

/** No payment session has this id. */
export class PaymentNotFoundError extends Error {
  override readonly name = 'PaymentNotFoundError';
  constructor(readonly id: string) {
    super(`payment ${id} does not exist`);
  }
}

/** A status change the payment lifecycle does not allow (payment-types.ts). */
export class InvalidStatusTransitionError extends Error {
  override readonly name = 'InvalidStatusTransitionError';
  constructor(
    readonly id: string,
    readonly from: PaymentStatus,
    readonly to: PaymentStatus,
  ) {
    super(`payment ${id} cannot go from ${from} to ${to}`);
  }
}

/** No authorisation intent has this idempotency key. */
export class AuthorisationNotFoundError extends Error {
  override readonly name = 'AuthorisationNotFoundError';
  constructor(readonly idempotencyKey: string) {
    super(`no authorisation with idempotency key ${idempotencyKey}`);
  }
}

/**
 * An authorisation already settled (approved, declined, error) cannot be
 * settled differently: requested → in_doubt | approved | declined | error,
 * in_doubt → approved | declined | error.
 */
export class InvalidAuthorisationTransitionError extends Error {
  override readonly name = 'InvalidAuthorisationTransitionError';
  constructor(
    readonly idempotencyKey: string,
    readonly from: AuthorisationState,
    readonly to: AuthorisationState,
  ) {
    super(`authorisation ${idempotencyKey} cannot go from ${from} to ${to}`);
  }
}

/** An idempotency key already used by another payment (or for another amount). */
export class IdempotencyKeyConflictError extends Error {
  override readonly name = 'IdempotencyKeyConflictError';
  constructor(readonly idempotencyKey: string) {
    super(`idempotency key ${idempotencyKey} belongs to another payment`);
  }
}

/** The database was written by a newer version of this service (PRAGMA user_version). */
export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(`database schema version ${found} is newer than this build knows (${known})`);
  }
}

/** No refund or void has this idempotency key. */
export class ReversalNotFoundError extends Error {
  override readonly name = 'ReversalNotFoundError';
  constructor(readonly idempotencyKey: string) {
    super(`no reversal with idempotency key ${idempotencyKey}`);
  }
}

/**
 * A reversal already settled cannot be settled differently:
 * requested → pending | succeeded | refused | error | in_doubt,
 * pending → succeeded | refused, in_doubt → pending | succeeded | refused | error.
 */
export class InvalidReversalTransitionError extends Error {
  override readonly name = 'InvalidReversalTransitionError';
  constructor(
    readonly idempotencyKey: string,
    readonly from: ReversalState,
    readonly to: ReversalState,
  ) {
    super(`reversal ${idempotencyKey} cannot go from ${from} to ${to}`);
  }
}

/** AUDIT_KEY is too short for HMAC-SHA-256 (RFC 2104 §3: no shorter than its 32-byte output). */
export class AuditKeyError extends Error {
  override readonly name = 'AuditKeyError';
  constructor(readonly bytes: number) {
    super(`the audit key has ${bytes} bytes; it needs at least 32`);
  }
}

/** No payment link has this id. */
export class PaymentLinkNotFoundError extends Error {
  override readonly name = 'PaymentLinkNotFoundError';
  constructor(readonly id: string) {
    super(`payment link ${id} does not exist`);
  }
}

/** A payment link already settled cannot change again (active → paid | declined | expired | cancelled). */
export class InvalidLinkTransitionError extends Error {
  override readonly name = 'InvalidLinkTransitionError';
  constructor(
    readonly id: string,
    readonly from: PaymentLinkState,
    readonly to: PaymentLinkState,
  ) {
    super(`payment link ${id} cannot go from ${from} to ${to}`);
  }
}

/** No text message in the outbox has this id. */
export class SmsMessageNotFoundError extends Error {
  override readonly name = 'SmsMessageNotFoundError';
  constructor(readonly id: string) {
    super(`text message ${id} is not in the outbox`);
  }
}

/** A delivery report may not take a message back (delivered → sent) or change a final one. */
export class InvalidSmsDeliveryTransitionError extends Error {
  override readonly name = 'InvalidSmsDeliveryTransitionError';
  constructor(
    readonly id: string,
    readonly from: SmsDeliveryState,
    readonly to: SmsDeliveryState,
  ) {
    super(`text message ${id} cannot go from ${from} to ${to}`);
  }
}

/** A username that is taken. */
export class DuplicateUserError extends Error {
  override readonly name = 'DuplicateUserError';
}

/** No agent command has this id. */
export class AgentCommandNotFoundError extends Error {
  override readonly name = 'AgentCommandNotFoundError';
  constructor(readonly id: string) {
    super(`agent command ${id} does not exist`);
  }
}
