import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Order, OrderLookup, OrderLookupResult } from './order-lookup-port.js';
import { orderSchema } from './order-schema.js';

/** The orders file is unreadable or holds a bad entry. */
export class OrdersFileError extends Error {
  override readonly name = 'OrdersFileError';
}

/** Orders from a JSON file (a list of {reference, amountMinor, currency, description?}), read once. */
export class FileOrderLookup implements OrderLookup {
  readonly #orders = new Map<string, Order>();

  constructor(path: string) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new OrdersFileError(`cannot read orders file ${path}: ${(err as Error).message.split('\n')[0]}`);
    }
    const parsed = z.array(orderSchema).safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new OrdersFileError(`orders file ${path}: entry ${issue.path.join('.')}: ${issue.message}`);
    }
    for (const order of parsed.data) {
      if (this.#orders.has(order.reference)) throw new OrdersFileError(`orders file ${path}: reference ${order.reference} appears twice`);
      this.#orders.set(order.reference, order);
    }
  }

  find(reference: string): Promise<OrderLookupResult> {
    const order = this.#orders.get(reference);
    return Promise.resolve(order ? { kind: 'found', order } : { kind: 'not-found' });
  }
}
