import { inspect } from 'node:util';
import type { CardBrand } from '../domain/card-brand.js';

/**
 * The card as handed to a PSP adapter by `CardVault.redeem`, for the duration
 * of one authorisation call. Its fields are private: an adapter reads them
 * with `reveal()` only where it builds the request body for the PSP, and
 * every other view of the object (JSON, util.inspect, String, a logger) is
 * masked. PCI DSS 4.0 req. 3.3/3.4: the PAN is rendered unreadable wherever
 * it could be displayed or stored.
 */
export class CardData {
  readonly #pan: string;
  readonly #expiryMonth: string;
  readonly #expiryYear: string;
  readonly #securityCode: string;
  readonly brand: CardBrand;
  readonly last4: string;

  constructor(fields: { pan: string; expiry: string; securityCode: string; brand: CardBrand }) {
    this.#pan = fields.pan;
    this.#expiryMonth = fields.expiry.slice(0, 2);
    this.#expiryYear = `20${fields.expiry.slice(2, 4)}`;
    this.#securityCode = fields.securityCode;
    this.brand = fields.brand;
    this.last4 = fields.pan.slice(-4);
  }

  /** The clear card fields, for building the PSP request body and nothing else. */
  reveal(): { pan: string; expiryMonth: string; expiryYear: string; securityCode: string } {
    return {
      pan: this.#pan,
      expiryMonth: this.#expiryMonth,
      expiryYear: this.#expiryYear,
      securityCode: this.#securityCode,
    };
  }

  toJSON(): { brand: CardBrand; last4: string } {
    return { brand: this.brand, last4: this.last4 };
  }

  toString(): string {
    return `CardData(${this.brand} ****${this.last4})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
