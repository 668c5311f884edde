import type { PaymentStore } from '../../store/payment-store.js';
import type { OrderLookup, OrderLookupResult } from './order-lookup-port.js';

/**
 * The merchant's order lookup, with what only we know added: an order that
 * already has an approved payment here is `already-paid`, so the caller is
 * told so instead of being charged twice, unless the lookup says the order
 * takes partial payments (its amount is then what is still due).
 */
export class PaidOrderGuard implements OrderLookup {
  readonly #orders: OrderLookup;
  readonly #store: Pick<PaymentStore, 'listSessions'>;

  constructor(orders: OrderLookup, store: Pick<PaymentStore, 'listSessions'>) {
    this.#orders = orders;
    this.#store = store;
  }

  async find(reference: string, options: { signal?: AbortSignal } = {}): Promise<OrderLookupResult> {
    const result = await this.#orders.find(reference, options);
    if (result.kind !== 'found' || result.order.partialPayments) return result;
    try {
      const paid = (await this.#store.listSessions({ reference: result.order.reference, status: 'approved', limit: 1 })).length > 0;
      return paid ? { kind: 'already-paid', reference: result.order.reference } : result;
    } catch (err) {
      // Not knowing whether the order is paid is not knowing whether charging is safe.
      return { kind: 'unavailable', reason: `store: ${err instanceof Error ? err.name : 'unknown'}` };
    }
  }
}
