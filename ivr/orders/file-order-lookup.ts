import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Order, OrderLookup, OrderLookupResult } from './order-lookup-port.js';
import { orderSchema } from './order-schema.js';

/** The orders file is unreadable or holds a bad entry. */
export class OrdersFileError extends Error {
  override readonly name = 'OrdersFileError';
}

/**
 * Orders from a JSON file, read and validated once at construction: a list of
 * `{ "reference": "1001", "amountMinor": 4250, "currency": "EUR", "description"?: "…", "partialPayments"?: true }`
 * with digit-string references (callers key them), each reference once.
 * The shipped demo file is `ivr/orders/demo-orders.json`.
 */
export class FileOrderLookup implements OrderLookup {
  readonly #orders = new Map<string, Order>();

  /** @throws OrdersFileError naming the file and the bad entry. */
  constructor(path: string) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new OrdersFileError(`cannot read orders file ${path}: ${(err as Error).message.split('\n')[0]}`);
    }
    if (!Array.isArray(data)) throw new OrdersFileError(`orders file ${path}: expected a JSON list of orders`);
    data.forEach((entry: unknown, index) => {
      const parsed = orderSchema.safeParse(entry);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
        throw new OrdersFileError(`orders file ${path}: entry ${index}${entryLabel(entry)}: ${field}${issue?.message ?? 'invalid'}`);
      }
      const order = parsed.data;
      if (this.#orders.has(order.reference)) {
        throw new OrdersFileError(`orders file ${path}: entry ${index}: reference ${order.reference} appears twice`);
      }
      this.#orders.set(order.reference, order);
    });
  }

  find(reference: string): Promise<OrderLookupResult> {
    const order = this.#orders.get(reference);
    return Promise.resolve(order ? { kind: 'found', order } : { kind: 'not-found' });
  }
}

/** ` (reference "…")` when the bad entry has a printable reference, to find it in the file. */
function entryLabel(entry: unknown): string {
  const reference = z.object({ reference: z.union([z.string().max(40), z.number()]) }).safeParse(entry);
  return reference.success ? ` (reference ${JSON.stringify(reference.data.reference)})` : '';
}
