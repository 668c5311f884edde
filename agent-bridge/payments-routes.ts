import type { Express, NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { PaymentSessionRecord, PaymentStore } from '../store/payment-store.js';
import { matchesKey } from './admin-api-key.js';

const paymentsQuery = z.object({
  reference: z.string().min(1).max(64),
});

/** What the API shows of a payment: masked card details only. */
export function paymentView(p: PaymentSessionRecord): Record<string, unknown> {
  return {
    id: p.id,
    mode: p.mode,
    reference: p.reference,
    status: p.status,
    amount: p.amountMinor,
    currency: p.currency,
    description: p.description,
    cardBrand: p.cardBrand,
    cardLast4: p.cardLast4,
    pspReference: p.pspReference,
    declineReason: p.declineReason,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

/** Bearer-token check against the admin API key; 401 with a JSON error otherwise. */
export function requireAdminKey(adminKey: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match || !matchesKey(match[1]!, adminKey)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorised' });
      return;
    }
    next();
  };
}

/** GET /api/v1/payments?reference=R */
export function mountPaymentsRoutes(app: Express, deps: { store: PaymentStore; adminKey: string }): void {
  app.get('/api/v1/payments', requireAdminKey(deps.adminKey), (req, res) => {
    const parsed = paymentsQuery.safeParse(req.query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      res.status(400).json({ error: 'invalid-request', field: issue.path.join('.'), message: issue.message });
      return;
    }
    const payments = deps.store.listSessions({ reference: parsed.data.reference });
    res.json({ payments: payments.map(paymentView) });
  });
}
