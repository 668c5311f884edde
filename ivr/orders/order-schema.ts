import { z } from 'zod';

/** One order as the file adapter and the merchant webhook describe it. */
export const orderSchema = z.object({
  reference: z.string().regex(/^\d{1,20}$/, 'a reference is 1–20 digits (callers key it)'),
  amountMinor: z.number().int().min(0),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
  description: z.string().max(200).optional(),
  /**
   * The order may be paid more than once (instalments, top-ups): the amount is
   * then what is still due. Default false: an order with an approved payment
   * is not taken again.
   */
  partialPayments: z.boolean().optional(),
});
