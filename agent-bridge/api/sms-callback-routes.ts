import express, { type Express, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { SmsDeliveryReports } from '../../ivr/links/sms-delivery-reports.js';
import { SmsCallbackError, type SmsDeliveryReport } from '../../sms/sms-port.js';
import type { TwilioStatusCallback } from '../../sms/twilio-status-callback.js';
import type { VonageDeliveryReceipts } from '../../sms/vonage-delivery-receipt.js';

/** Where Twilio posts message status changes (each message's StatusCallback: TWILIO_STATUS_CALLBACK_URL). */
export const TWILIO_STATUS_PATH = '/sms/twilio/status';
/** Where Vonage sends delivery receipts (the account's webhook, or VONAGE_STATUS_CALLBACK_URL). */
export const VONAGE_RECEIPTS_PATH = '/sms/vonage/delivery-receipts';

export interface SmsCallbackDeps {
  readonly twilio?: TwilioStatusCallback;
  readonly vonage?: VonageDeliveryReceipts;
  readonly reports: SmsDeliveryReports;
  readonly logger: Logger;
}

/**
 * The SMS providers' delivery callbacks: no bearer credential (the provider
 * has none of ours), the provider's signature instead, checked before
 * anything is read. A refused one is 403 (signature) or 400 (shape),
 * audited and counted by its reason only: the body holds the recipient's
 * number and is never logged. A report on a message we never sent is
 * answered 204 all the same, so the provider does not retry it.
 */
export function mountSmsCallbacks(app: Express, deps: SmsCallbackDeps): void {
  const take = (provider: string, read: (req: Request) => SmsDeliveryReport) => async (req: Request, res: Response) => {
    try {
      const result = await deps.reports.record(read(req));
      deps.logger.debug({ provider, result }, 'SMS delivery report taken');
      res.status(204).end();
    } catch (err) {
      if (!(err instanceof SmsCallbackError)) throw err;
      deps.logger.warn({ provider, reason: err.reason }, 'SMS delivery callback refused');
      await deps.reports.refused(provider, err.reason);
      res.status(err.reason === 'bad-request' ? 400 : 403).json({ error: err.reason });
    }
  };
  const { twilio, vonage } = deps;
  if (twilio) {
    // The raw form: Twilio signs each parameter as sent.
    const form = express.text({ type: 'application/x-www-form-urlencoded', limit: '64kb' });
    app.post(TWILIO_STATUS_PATH, form, take('twilio', (req) => twilio.reportOf(typeof req.body === 'string' ? req.body : '', req.get('x-twilio-signature'))));
  }
  if (vonage) {
    // Vonage sends receipts as GET, POST or POST-JSON, as the account's settings say.
    const body = [express.urlencoded({ extended: false, limit: '64kb' }), express.json({ limit: '64kb' })];
    app.get(VONAGE_RECEIPTS_PATH, take('vonage', (req) => vonage.reportOf(req.query)));
    app.post(VONAGE_RECEIPTS_PATH, ...body, take('vonage', (req) => vonage.reportOf(isRecord(req.body) ? req.body : {})));
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
