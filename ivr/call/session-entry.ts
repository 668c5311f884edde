import type { InboundCall } from '../../media-server/media-server-port.js';
import { FINAL_PAYMENT_STATUSES } from '../../domain/payment-types.js';
import type { PaymentSessionRecord, PaymentStore } from '../../store/payment-store.js';

/** How an inbound call names the agent-assisted session it joins, if it does. */
export type SessionClaim = { readonly code: string } | { readonly id: string };

const CODE_USER = /^pay-([0-9]{4,12})$/;

/**
 * The PBX transfers the caller to sip:pay-<code>@ivr, or to any IVR number
 * with an X-Payment-Session header (ARCHITECTURE.md "Call entry modes", 2).
 */
export function sessionClaimOf(call: Pick<InboundCall, 'calledUser' | 'headers'>): SessionClaim | undefined {
  const code = CODE_USER.exec(call.calledUser)?.[1];
  if (code) return { code };
  const id = call.headers.get('x-payment-session')?.trim();
  return id ? { id } : undefined;
}

/**
 * The session a claim may join: created for an agent, still waiting for its
 * caller (no call joined yet, not final), and younger than the code's time
 * to live. Anything else is refused the same way, so a caller guessing codes
 * learns nothing about other sessions.
 */
export async function joinableSession(
  store: Pick<PaymentStore, 'getSession' | 'listSessions'>,
  claim: SessionClaim,
  now: Date,
  ttlMs: number,
): Promise<PaymentSessionRecord | undefined> {
  const candidates = 'code' in claim ? await store.listSessions({ code: claim.code, limit: 5 }) : [await store.getSession(claim.id)];
  return candidates.find(
    (s): s is PaymentSessionRecord =>
      s !== undefined &&
      s.mode === 'agent-assisted' &&
      s.callId === null &&
      !FINAL_PAYMENT_STATUSES.includes(s.status) &&
      now.getTime() - Date.parse(s.createdAt) <= ttlMs,
  );
}
