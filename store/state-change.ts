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
 * Resolves row `id` and guards its change, then writes: throws `notFound`
 * when there is no such row and `illegal` when its state may not become `to`
 * (undefined: the state stays), else lets `write` change it and returns the
 * row read back. Run it inside the write's transaction, so nothing changes
 * the row between the check and the write.
 */
export function changeRow<R, S extends string>(
  lifecycle: RowLifecycle<R, S>,
  change: { readonly id: string; readonly to: S | undefined; readonly read: (id: string) => R | undefined; readonly write: (current: R) => void },
): R {
  const current = change.read(change.id);
  if (current === undefined) throw lifecycle.notFound(change.id);
  const from = lifecycle.stateOf(current);
  if (change.to !== undefined && !isLegalTransition(lifecycle.transitions, from, change.to)) {
    throw lifecycle.illegal(change.id, from, change.to);
  }
  change.write(current);
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
 * Records the PSP's answer on the intent `key` through `changeRow`: a field
 * left undefined keeps its value, and `resolvedAt` is stamped when the state
 * first becomes final (one the lifecycle has no way out of). `statement`
 * takes @state, @pspReference, @detail, @resolvedAt and @key.
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
      intent.statement.run({
        state: answer.state,
        pspReference: answer.pspReference === undefined ? current.pspReference : answer.pspReference,
        detail: answer.detail === undefined ? current.detail : answer.detail,
        resolvedAt: lifecycle.transitions[answer.state].length === 0 ? (current.resolvedAt ?? intent.stamp()) : null,
        key,
      });
    },
  });
}
