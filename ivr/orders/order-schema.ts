import { z } from 'zod';

/** One order as the file adapter and the merchant webhook describe it. */
export const orderSchema = z.object({
  reference: z.string().regex(/^\d{1,20}$/, 'a reference is 1–20 digits (callers key it)'),
  amountMinor: z.number().int().min(0),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
  description: z.string().max(200).optional(),
});
