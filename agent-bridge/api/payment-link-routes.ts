import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { LinkNotAllowedError } from '../../ivr/links/link-errors.js';
import type { PaymentLinkService } from '../../ivr/links/payment-link-service.js';
import { PaymentLinkError } from '../../psp/payment-link-port.js';
import { InvalidPhoneNumberError } from '../../sms/phone-number.js';
import { SmsSendError } from '../../sms/sms-port.js';
import type { PaymentLinkRecord, PaymentLinkStore, SmsOutboxRecord } from '../../store/payment-link-store.js';
import type { PaymentSessionRecord, PaymentStore } from '../../store/payment-store.js';
import { actorOf, type Principal } from '../identity/authenticator.js';

export const paymentLinkRequest = z
  .object({ phone: z.string().min(3).max(32).optional().describe("Where to text the link; default the number of the session's caller (or of the last link)") })
  .strict();

export interface PaymentLinkRouteDeps {
  readonly service: PaymentLinkService;
  readonly links: PaymentLinkStore;
  readonly store: PaymentStore;
  /** The number of the session's caller while they are on the line. */
  readonly callerNumber: (sessionId: string) => string | undefined;
  /** SMS_PROVIDER=sandbox: GET /sms/outbox reads what it "sent" (the outbox keeps every provider's, but shows the sandbox's only). */
  readonly sandboxOutbox: boolean;
}

type Locals = { principal: Principal };

/**
 * Payment links on a session (ARCHITECTURE.md "Payment links"):
 * POST /sessions/{id}/payment-link {phone?} → 201 {url, expiresAt, status},
 * …/payment-link/resend, …/payment-link/cancel; GET /sms/outbox for the
 * sandbox SMS provider. A bad number is 400, a session that cannot take a
 * link 409, the PSP or the SMS provider refusing or silent 502: each audited
 * by the link service, and nothing charged.
 */
export function mountPaymentLinkRoutes(
  app: Express,
  deps: PaymentLinkRouteDeps,
  guard: { auth: (req: Request, res: Response<unknown, Locals>, next: NextFunction) => void; withSession: (req: Request, res: Response<unknown, Locals>) => Promise<PaymentSessionRecord | undefined> },
): void {
  const json = express.json({ limit: '4kb' });
  const send = (resend: boolean) => async (req: Request, res: Response<unknown, Locals>) => {
    const session = await guard.withSession(req, res);
    if (!session) return;
    const parsed = paymentLinkRequest.safeParse(req.body ?? {});
    if (!parsed.success || (resend && parsed.data.phone !== undefined)) {
      res.status(400).json({ error: 'invalid-request', field: 'phone', message: resend ? 'a resend goes to the same number' : parsed.error?.issues[0]?.message });
      return;
    }
    const phone = parsed.data.phone ?? (resend ? undefined : deps.callerNumber(session.id));
    try {
      const link = await deps.service.send(session.id, { ...(phone ? { phone } : {}), actor: actorOf(res.locals.principal) });
      res.status(201).json(linkJson(link, (await deps.store.getSession(session.id))!, await textOf(deps.links, link)));
    } catch (err) {
      answerError(err, res);
    }
  };
  app.post('/api/v1/sessions/:id/payment-link', guard.auth, json, send(false));
  app.post('/api/v1/sessions/:id/payment-link/resend', guard.auth, json, send(true));
  app.post('/api/v1/sessions/:id/payment-link/cancel', guard.auth, json, async (req: Request, res: Response<unknown, Locals>) => {
    const session = await guard.withSession(req, res);
    if (!session) return;
    try {
      const link = await deps.service.cancel(session.id, actorOf(res.locals.principal));
      res.status(200).json(linkJson(link, (await deps.store.getSession(session.id))!, await textOf(deps.links, link)));
    } catch (err) {
      answerError(err, res);
    }
  });
  app.get('/api/v1/sessions/:id/payment-links', guard.auth, async (req: Request, res: Response<unknown, Locals>) => {
    const session = await guard.withSession(req, res);
    if (!session) return;
    const links = await deps.links.listLinks({ sessionId: session.id });
    res.json({ links: await Promise.all(links.map(async (l) => linkJson(l, session, await textOf(deps.links, l)))) });
  });
  app.get('/api/v1/sms/outbox', guard.auth, async (req: Request, res: Response<unknown, Locals>) => {
    if (!deps.sandboxOutbox) {
      res.status(404).json({ error: 'not-found', message: 'the outbox exists with SMS_PROVIDER=sandbox only' });
      return;
    }
    const sessionId = typeof req.query.sessionId === 'string' ? req.query.sessionId : undefined;
    // An agent reads the messages of a session of theirs only.
    if (res.locals.principal.role !== 'supervisor' && res.locals.principal.kind !== 'api-key') {
      if (!sessionId) {
        res.status(403).json({ error: 'forbidden', message: 'an agent reads the outbox of one of their sessions (sessionId)' });
        return;
      }
      req.params.id = sessionId;
      if (!(await guard.withSession(req, res))) return;
    }
    res.json({ messages: await deps.links.listSms({ ...(sessionId ? { sessionId } : {}) }) });
  });
}

/** The text message that carried `link` (the latest, after a resend), if one went. */
async function textOf(links: PaymentLinkStore, link: PaymentLinkRecord): Promise<SmsOutboxRecord | undefined> {
  return (await links.listSms({ linkId: link.id, limit: 1 }))[0];
}

/** What the API shows of a link and of the text that carried it: the number's last three digits only. */
export function linkJson(link: PaymentLinkRecord, session: PaymentSessionRecord, text?: SmsOutboxRecord): Record<string, unknown> {
  return {
    id: link.id,
    url: link.url,
    expiresAt: link.expiresAt,
    state: link.state,
    provider: link.provider,
    phoneEnding: link.phone.slice(-3),
    status: session.status,
    pspReference: link.pspReference,
    createdAt: link.createdAt,
    // What the SMS provider reported of the message (its signed callbacks).
    sms: text ? { provider: text.provider, delivery: text.delivery, errorCode: text.deliveryError, at: text.deliveryAt } : null,
  };
}

function answerError(err: unknown, res: Response): void {
  if (err instanceof InvalidPhoneNumberError) {
    res.status(400).json({ error: 'invalid-phone', field: 'phone', message: err.message });
  } else if (err instanceof LinkNotAllowedError) {
    res.status(409).json({ error: err.reason, message: err.message });
  } else if (err instanceof PaymentLinkError) {
    res.status(502).json({ error: 'psp-failed', code: err.code, message: 'the PSP did not make the link; nothing was sent or charged' });
  } else if (err instanceof SmsSendError) {
    res.status(502).json({ error: 'sms-failed', code: err.code, message: 'the text message did not go; the link was closed, nothing can be charged on it' });
  } else {
    throw err;
  }
}
