import type { PaymentStatus } from '../ivr/domain/payment-types.js';

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

export class AuthorisationNotFoundError extends Error {
  override readonly name = 'AuthorisationNotFoundError';
  constructor(readonly idempotencyKey: string) {
    super(`no authorisation with idempotency key ${idempotencyKey}`);
  }
}

/** An idempotency key already used by another payment. */
export class IdempotencyKeyConflictError extends Error {
  override readonly name = 'IdempotencyKeyConflictError';
  constructor(readonly idempotencyKey: string) {
    super(`idempotency key ${idempotencyKey} belongs to another payment`);
  }
}
