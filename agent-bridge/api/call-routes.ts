import type { Express, NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import type { CardField } from '../../domain/payment-types.js';
import type { PaymentSessionRecord } from '../../store/payment-store.js';
import type { AgentCommand } from '../../ivr/flow/flow-types.js';
import { actorOf, ownAgentId, type Principal } from '../identity/authenticator.js';
import { bindCallAgentRequest, createCallPaymentRequest, updateCallPaymentRequest } from './api-schemas.js';
import type { ApiDeps } from './api-routes.js';
import { answerUndelivered, commandJson } from './command-answers.js';

/** What the API shows of one live in-line call. */
export interface LiveCallView {
  readonly id: string;
  /** The caller's number (the user part of From). */
  readonly callerNumber: string;
  readonly startedAt: Date;
  readonly state: string;
  /** The agent the call is bound to, once known. */
  readonly agentId: string | undefined;
  /** The payment running on the call now. */
  readonly paymentSessionId: string | undefined;
}

/** The live in-line calls, and payments on them (in-line mode). */
export interface LiveCallControl {
  list(): LiveCallView[];
  get(callId: string): LiveCallView | undefined;
  /** The session an earlier request with this idempotency key made on this call. */
  paymentByKey(callId: string, idempotencyKey: string): string | undefined;
  /** Binds the call to the agent named (user id or username): the agent's id, or why not. */
  bindAgent(callId: string, agent: string): Promise<string | 'no-call' | 'unknown-agent'>;
  /** Starts `session`'s payment on the call; 'no-call' when it is not connected, 'busy' when a payment runs on it. */
  startPayment(callId: string, session: PaymentSessionRecord, idempotencyKey: string): 'started' | 'no-call' | 'busy';
}

/** Where a payment's masked progress events are also POSTed (agent-bridge/stream/status-callbacks.ts). */
export interface StatusCallbackRegistry {
  watch(sessionId: string, url: string): void;
  forget(sessionId: string): void;
}

type Locals = { principal: Principal };
type Handler = (req: Request, res: Response<unknown, Locals>, next: NextFunction) => void;

export interface CallRouteTools {
  readonly auth: Handler;
  readonly json: Handler;
  readonly parse: <S extends z.ZodType>(schema: S, input: unknown, res: Response) => z.output<S> | undefined;
  readonly sessionJson: (s: PaymentSessionRecord) => Promise<Record<string, unknown>>;
}

/** Digits of the caller's number an agent sees. */
const AGENT_VISIBLE_DIGITS = 4;

/**
 * In-line mode's endpoints: `GET /calls` (the live calls the principal may
 * see: supervisors and CTI keys all, agents their own, caller numbers
 * masked to the last digits for agents), `POST /calls/{callId}/payments`
 * (a payment session on the live call, the same session resource as
 * `/sessions`; an idempotency key sent twice returns the same payment) and
 * `POST /calls/{callId}/payments/{id}` (`{capture: field}`, `{status:
 * complete|cancel}`).
 */
export function mountCallRoutes(app: Express, deps: ApiDeps, calls: LiveCallControl, callbacks: StatusCallbackRegistry, tools: CallRouteTools): void {
  const { auth, json, parse, sessionJson } = tools;
  const visible = (principal: Principal, call: LiveCallView): boolean => {
    const own = ownAgentId(principal);
    return own === undefined || call.agentId === own;
  };
  const withCall = (req: Request, res: Response<unknown, Locals>): LiveCallView | undefined => {
    const call = calls.get(String(req.params.callId));
    if (!call) {
      res.status(404).json({ error: 'not-found' });
      return undefined;
    }
    if (!visible(res.locals.principal, call)) {
      res.status(403).json({ error: 'forbidden' });
      return undefined;
    }
    return call;
  };

  app.get('/api/v1/calls', auth, (_req, res: Response<unknown, Locals>) => {
    const principal = res.locals.principal;
    const masked = ownAgentId(principal) !== undefined;
    res.json({
      inline: true,
      calls: calls
        .list()
        .filter((c) => visible(principal, c))
        .map((c) => ({
          id: c.id,
          callerNumber: masked ? maskNumber(c.callerNumber) : c.callerNumber,
          startedAt: c.startedAt.toISOString(),
          state: c.state,
          agentId: c.agentId ?? null,
          paymentSessionId: c.paymentSessionId ?? null,
        })),
    });
  });

  // A CTI system says which agent has the call (supervisors and CTI keys; an agent's own key may not move calls).
  app.post('/api/v1/calls/:callId/agent', auth, json, async (req: Request, res: Response<unknown, Locals>) => {
    const body = parse(bindCallAgentRequest, req.body, res);
    if (!body) return;
    const principal = res.locals.principal;
    if (ownAgentId(principal) !== undefined) {
      res.status(403).json({ error: 'forbidden' });
      return;
    }
    const bound = await calls.bindAgent(String(req.params.callId), body.agentId);
    if (bound === 'no-call') {
      res.status(404).json({ error: 'not-found' });
      return;
    }
    if (bound === 'unknown-agent') {
      res.status(422).json({ error: 'unknown-agent' });
      return;
    }
    await deps.audit.append({ sessionId: null, actor: actorOf(principal), action: 'call-bound', detail: { inlineCall: String(req.params.callId), agentId: bound } });
    res.status(200).json({ id: String(req.params.callId), agentId: bound });
  });

  app.post('/api/v1/calls/:callId/payments', auth, json, async (req: Request, res: Response<unknown, Locals>) => {
    const body = parse(createCallPaymentRequest, req.body, res);
    if (!body) return;
    const call = withCall(req, res);
    if (!call) return;
    const earlier = calls.paymentByKey(call.id, body.idempotencyKey);
    const existing = earlier ? await deps.store.getSession(earlier) : undefined;
    if (existing) {
      res.status(200).json(await sessionJson(existing));
      return;
    }
    if (call.paymentSessionId !== undefined) {
      res.status(409).json({ error: 'payment-in-progress', sessionId: call.paymentSessionId });
      return;
    }
    const principal = res.locals.principal;
    const session = await deps.store.createSession({
      mode: 'agent-assisted',
      reference: body.reference,
      amountMinor: body.amount,
      currency: body.currency,
      description: body.description ?? null,
      agentId: call.agentId ?? ownAgentId(principal) ?? null,
      callId: call.id,
      autoCapture: true,
      tokenise: body.tokenise ?? body.amount === 0,
    });
    await deps.audit.append({
      sessionId: session.id,
      actor: actorOf(principal),
      action: 'session-created',
      detail: { reference: session.reference, amountMinor: session.amountMinor, currency: session.currency, inlineCall: call.id },
    });
    // Watched before the start, so the first events (secure-on, field-started) are sent too.
    if (body.statusCallback !== undefined) callbacks.watch(session.id, body.statusCallback);
    const started = calls.startPayment(call.id, session, body.idempotencyKey);
    if (started !== 'started') {
      callbacks.forget(session.id);
      // The call ended or took another payment between the look and now: the session never ran.
      await deps.store.updateSession(session.id, { status: 'cancelled' });
      await deps.audit.append({ sessionId: session.id, actor: actorOf(principal), action: 'session-cancelled', detail: { reason: started } });
      res.status(started === 'busy' ? 409 : 404).json({ error: started === 'busy' ? 'payment-in-progress' : 'not-found' });
      return;
    }
    res.status(201).json(await sessionJson((await deps.store.getSession(session.id))!));
  });

  app.post('/api/v1/calls/:callId/payments/:id', auth, json, async (req: Request, res: Response<unknown, Locals>) => {
    const body = parse(updateCallPaymentRequest, req.body, res);
    if (!body) return;
    const call = withCall(req, res);
    if (!call) return;
    const session = await deps.store.getSession(String(req.params.id));
    if (!session || session.callId !== call.id) {
      res.status(404).json({ error: 'not-found' });
      return;
    }
    const command: AgentCommand = 'capture' in body ? { type: 'capture', field: body.capture as CardField } : { type: body.status };
    const delivery = await deps.sessions.command(session.id, command, actorOf(res.locals.principal));
    if (delivery.outcome !== 'applied') {
      answerUndelivered(res, delivery, 'payment-not-running');
      return;
    }
    res.status(202).json({ ...(await sessionJson((await deps.store.getSession(session.id))!)), command: commandJson(command, delivery) });
  });
}

/** An agent sees the last digits of the caller's number only. */
function maskNumber(number: string): string {
  if (number.length <= AGENT_VISIBLE_DIGITS) return number;
  return `${'•'.repeat(number.length - AGENT_VISIBLE_DIGITS)}${number.slice(-AGENT_VISIBLE_DIGITS)}`;
}
