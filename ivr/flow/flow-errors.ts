import type { FlowState } from './flow-types.js';

/** A move the transition table does not allow: a bug in the flow, never a user error. */
export class InvalidStateError extends Error {
  override readonly name = 'InvalidStateError';
  constructor(
    readonly from: FlowState,
    readonly to: FlowState,
  ) {
    super(`payment flow cannot go from ${from} to ${to}`);
  }
}

/** An agent command that makes no sense in the flow's current state (REST answers 409). */
export class CommandRejectedError extends Error {
  override readonly name = 'CommandRejectedError';
  constructor(
    readonly command: string,
    readonly state: FlowState,
    readonly reason: string,
  ) {
    super(`${command} rejected in state ${state}: ${reason}`);
  }
}
