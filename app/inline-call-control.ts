import type { LiveCallControl, LiveCallView } from '../agent-bridge/api/call-routes.js';
import type { InlineCall } from '../ivr/call/inline-call.js';
import type { InlineCalls } from '../ivr/call/inline-calls.js';
import type { PaymentIvr } from '../ivr/call/payment-ivr.js';
import type { IdentityStore } from '../store/identity-store.js';

/** The REST API's view of in-line mode: the live calls, who they are bound to, and payments started on them by the IVR. */
export function inlineCallControl(calls: InlineCalls, ivr: PaymentIvr, identities: IdentityStore): LiveCallControl {
  return {
    bindAgent: async (callId, agent) => {
      const call = calls.get(callId);
      if (!call) return 'no-call';
      const agentId = await agentNamed(identities, agent);
      if (agentId === undefined) return 'unknown-agent';
      call.bindAgent(agentId, 'cti');
      return agentId;
    },
    list: () => calls.list().map(viewOf),
    get: (callId) => {
      const call = calls.get(callId);
      return call ? viewOf(call) : undefined;
    },
    paymentByKey: (callId, key) => calls.get(callId)?.paymentByKey(key),
    startPayment: (callId, session, key) => {
      const started = ivr.payOnCall(callId, session);
      if (started === 'started') calls.get(callId)?.rememberPaymentKey(key, session.id);
      return started;
    },
  };
}

function viewOf(call: InlineCall): LiveCallView {
  return {
    id: call.id,
    callerNumber: numberOf(call.caller.from),
    startedAt: call.startedAt,
    state: call.state,
    agentId: call.agentId,
    paymentSessionId: call.payment,
  };
}

/** The user part of a SIP URI (the caller's number), or the URI itself. */
function numberOf(uri: string): string {
  return /^sips?:([^@;]+)@/i.exec(uri)?.[1] ?? uri;
}

/** The user an agent header or a CTI names, by user id or username; undefined when none, or disabled. */
export async function agentNamed(identities: IdentityStore, name: string): Promise<string | undefined> {
  const user = (await identities.getUser(name)) ?? (await identities.findUserForLogin(name))?.user;
  return user && !user.disabled ? user.id : undefined;
}
