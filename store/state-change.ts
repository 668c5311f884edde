import type { Statement } from 'better-sqlite3';
import { isLegalTransition } from '../domain/payment-lifecycle.js';

/** What changing the state of one kind of row needs: its legal changes and the errors a refused change throws. */
export interface RowLifecycle<R, S extends string> {
  /** From domain/payment-lifecycle.ts; staying in the same state is always legal. */
  readonly transitions: Readonly<Record<S, readonly S[]>>;
  readonly stateOf: (row: R) => S;
  readonly notFound: (id: string) => Error;
  readonly illegal: (id: string, from: S, to: S) => Error;
}

/**
 * The rule every adapter applies before changing row `id` (read inside the
 * write's transaction): throws `notFound` when there is no such row and
 * `illegal` when its state may not become `to` (undefined: the state stays).
 */
export function guardChange<R, S extends string>(lifecycle: RowLifecycle<R, S>, id: string, current: R | undefined, to: S | undefined): R {
  if (current === undefined) throw lifecycle.notFound(id);
  const from = lifecycle.stateOf(current);
  if (to !== undefined && !isLegalTransition(lifecycle.transitions, from, to)) throw lifecycle.illegal(id, from, to);
  return current;
}

/**
 * Resolves row `id` and guards its change (guardChange), then lets `write`
 * change it and returns the row read back. Run it inside the write's
 * transaction, so nothing changes the row between the check and the write.
 */
export function changeRow<R, S extends string>(
  lifecycle: RowLifecycle<R, S>,
  change: { readonly id: string; readonly to: S | undefined; readonly read: (id: string) => R | undefined; readonly write: (current: R) => void },
): R {
  change.write(guardChange(lifecycle, change.id, change.read(change.id), change.to));
  return change.read(change.id)!;
}

/** What the PSP's answer (or its absence: in doubt) sets on an intent. */
export interface IntentAnswer<S extends string> {
  readonly state: S;
  readonly pspReference?: string | null;
  readonly detail?: string | null;
}

/** The columns of an intent row (an authorisation, a refund or void) that its answer settles. */
interface IntentColumns {
  readonly pspReference: string | null;
  readonly detail: string | null;
  readonly resolvedAt: string | null;
}

/**
 * What an answer writes on an intent: a field left undefined keeps its
 * value, and `resolvedAt` is stamped when the state first becomes final (one
 * the lifecycle has no way out of).
 */
export function settledColumns<R extends IntentColumns, S extends string>(
  lifecycle: RowLifecycle<R, S>,
  current: R,
  answer: IntentAnswer<S>,
  stamp: () => string,
): { state: S; pspReference: string | null; detail: string | null; resolvedAt: string | null } {
  return {
    state: answer.state,
    pspReference: answer.pspReference === undefined ? current.pspReference : answer.pspReference,
    detail: answer.detail === undefined ? current.detail : answer.detail,
    resolvedAt: lifecycle.transitions[answer.state].length === 0 ? (current.resolvedAt ?? stamp()) : null,
  };
}

/**
 * Records the PSP's answer on the intent `key` through `changeRow` and
 * `settledColumns`. `statement` takes @state, @pspReference, @detail,
 * @resolvedAt and @key.
 */
export function settleIntent<R extends IntentColumns, S extends string>(
  lifecycle: RowLifecycle<R, S>,
  intent: {
    readonly key: string;
    readonly answer: IntentAnswer<S>;
    readonly read: (key: string) => R | undefined;
    readonly statement: Statement;
    readonly stamp: () => string;
  },
): R {
  const { key, answer } = intent;
  return changeRow(lifecycle, {
    id: key,
    to: answer.state,
    read: intent.read,
    write: (current) => {
      intent.statement.run({ ...settledColumns(lifecycle, current, answer, intent.stamp), key });
    },
  });
}
