import express, { type Express, type Response } from 'express';
import type { PaymentLinkService } from '../../ivr/links/payment-link-service.js';
import { SANDBOX_PAGE_CHOICES, type SandboxPaymentLinks } from '../../psp/sandbox-payment-links.js';
import type { PaymentLinkStore } from '../../store/payment-link-store.js';
import type { PaymentStore } from '../../store/payment-store.js';

/**
 * The sandbox PSP's payment page (PSP=sandbox only: application.ts mounts it
 * for that PSP and no other). It says plainly it is a test page, and takes a
 * sandbox test card by a button each, shown by its last four: there is no
 * card number field. Paying settles the link as a PSP's webhook would.
 */
export function mountSandboxPayPage(app: Express, deps: { sandbox: SandboxPaymentLinks; service: PaymentLinkService; links: PaymentLinkStore; store: PaymentStore }): void {
  const form = express.urlencoded({ extended: false, limit: '1kb' });
  app.get('/sandbox/pay/:token', async (req, res) => {
    const link = await deps.links.findLink('sandbox', String(req.params.token));
    const session = link && (await deps.store.getSession(link.sessionId));
    if (!link || !session || link.state !== 'active') {
      page(res, 410, '<p>This payment link is no longer valid.</p>');
      return;
    }
    const amount = `${(session.amountMinor / 100).toFixed(2)} ${session.currency}`;
    const choices = SANDBOX_PAGE_CHOICES.map(
      (c) =>
        `<form method="post"><input type="hidden" name="card" value="${c.last4}"><button type="submit">Pay with the test card ending ${c.last4} (${c.outcome.kind === 'approve' ? 'approved' : `declined: ${c.outcome.reason}`})</button></form>`,
    ).join('\n');
    page(res, 200, `<p>Order ${escapeHtml(session.reference)}: <strong>${escapeHtml(amount)}</strong></p>\n${choices}`);
  });
  app.post('/sandbox/pay/:token', form, async (req, res) => {
    const token = String(req.params.token);
    const link = await deps.links.findLink('sandbox', token);
    const card = typeof req.body?.card === 'string' ? req.body.card : '';
    const outcome = link?.state === 'active' ? deps.sandbox.pay(token, card) : undefined;
    if (!outcome) {
      page(res, link?.state === 'active' ? 400 : 410, '<p>This payment link is no longer valid, or that is not a test card of this page.</p>');
      return;
    }
    await deps.service.settle(outcome);
    page(res, 200, outcome.kind === 'paid' ? '<p>Payment approved (sandbox: no money moved).</p>' : '<p>Payment declined (sandbox).</p>');
  });
}

function page(res: Response, status: number, body: string): void {
  res
    .status(status)
    .type('html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TEST payment page (sandbox)</title></head><body>\n<h1>TEST PAGE: sandbox PSP, no real payment</h1>\n<p>This page stands in for a PSP's payment page in development and tests. Never enter a real card anywhere here.</p>\n${body}\n</body></html>`,
    );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
