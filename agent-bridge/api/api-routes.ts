import { randomInt } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { AgentCommand } from '../../ivr/flow/flow-types.js';
import type { CardField } from '../../domain/payment-types.js';
import { FINAL_PAYMENT_STATUSES } from '../../domain/payment-types.js';
import type { IdentityStore } from '../../store/identity-store.js';
import type { PaymentSessionRecord, PaymentStore } from '../../store/payment-store.js';
import type { Actor } from '../../domain/actor.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { PspRecordStore, ReversalRecord } from '../../store/psp-record-store.js';
import type { PaymentModificationKind } from '../../domain/payment-lifecycle.js';
import { ReversalNotAllowedError, type PaymentReversals } from '../../psp/payment-reversals.js';
import type { Authoriser } from '../../psp/authoriser.js';
import type { AccessTokens } from '../identity/access-token.js';
import { actorOf, ownAgentId, SESSION_COOKIE, type Authenticator, type Principal } from '../identity/authenticator.js';
import type { LoginThrottle } from '../identity/login-throttle.js';
import type { TokenRevocations } from '../identity/token-revocations.js';
import { verifyPassword } from '../identity/password-hash.js';
import {
  createSessionRequest,
  fieldCommand,
  listSessionsQuery,
  loginRequest,
  paymentsQuery,
  pspCaptureRequest,
  refundRequest,
  tokenChargeRequest,
  voidRequest,
} from './api-schemas.js';
import { openApiDocument } from './openapi.js';
import { mountCallRoutes, type LiveCallControl, type StatusCallbackRegistry } from './call-routes.js';
import { answerUndelivered, commandJson } from './command-answers.js';
import { mountPaymentLinkRoutes, type PaymentLinkRouteDeps } from './payment-link-routes.js';

/**
 * What became of an agent command: applied to the live call, no call on the
 * session, rejected by the flow (its reason), or not answered in time by the
 * node holding the call (then never applied). `node`: the other node that
 * holds the call, when it is not this one.
 */
export type CommandDelivery =
  | { readonly outcome: 'applied' | 'not-joined' | 'unanswered'; readonly node?: string }
  | { readonly outcome: 'rejected'; readonly reason: string; readonly node?: string };

/** Commands to the payment call a session's caller is on. */
export interface SessionControl {
  /** Applies the command to the live call, on this node or the node that holds it. */
  command(sessionId: string, command: AgentCommand, actor: Actor): Promise<CommandDelivery>;
  /** Ends the caller's leg; 'not-joined' when no caller is on the session. */
  releaseCaller(sessionId: string, actor: Actor): 'released' | 'not-joined';
}

export interface ApiDeps {
  readonly store: PaymentStore;
  /** Logins, session changes and agent commands are audited here; sessions' trails are read from it. */
  readonly audit: AuditLog;
  readonly identities: IdentityStore;
  readonly authenticator: Authenticator;
  readonly tokens: AccessTokens;
  /** Where logout revokes the tokens it is given. */
  readonly revocations: TokenRevocations;
  readonly throttle: LoginThrottle;
  readonly sessions: SessionControl;
  /** Where the PBX sends transferred callers: sip:pay-<code>@host:port. */
  readonly sipHost: string;
  readonly sipPort: number;
  /** Mark the session cookie Secure (when served over TLS). Default false. */
  readonly secureCookies?: boolean;
  /** Refunds and voids (supervisors); without it those endpoints answer 404. */
  readonly reversals?: PaymentReversals;
  /** PSP tokens and reversals shown with each payment. */
  readonly records?: PspRecordStore;
  /** Merchant-initiated charges on stored cards (with `records`); without it that endpoint answers 404. */
  readonly authoriser?: Authoriser;
  /** In-line mode's live calls; without it the /calls endpoints answer 404. */
  readonly calls?: LiveCallControl;
  /** Payment links by text message; without them those endpoints answer 404. */
  readonly paymentLinks?: PaymentLinkRouteDeps;
  /** Where a payment on a live call sends its `statusCallback`. */
  readonly statusCallbacks: StatusCallbackRegistry;
}

type Locals = { principal: Principal };

/** Whether a principal may see and act on a session: agents their own, supervisors and CTI keys all. */
export function canSee(principal: Principal, session: Pick<PaymentSessionRecord, 'agentId'>): boolean {
  const own = ownAgentId(principal);
  return own === undefined || session.agentId === own;
}

/** The REST API under /api/v1 (ARCHITECTURE.md "Ports and adapters"). */
export function mountApi(app: Express, deps: ApiDeps): void {
  const json = express.json({ limit: '16kb' });
  // Set and cleared with the same attributes, so the browser replaces the one cookie.
  const cookie = { httpOnly: true, sameSite: 'strict', secure: deps.secureCookies ?? false, path: '/' } as const;

  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  app.post('/api/v1/auth/login', json, async (req, res) => {
    const body = parse(loginRequest, req.body, res);
    if (!body) return;
    const keys = [`user:${body.username}`, `ip:${req.socket.remoteAddress ?? ''}`];
    const wait = deps.throttle.retryAfterMs(keys);
    if (wait > 0) {
      res.status(429).set('Retry-After', String(Math.ceil(wait / 1000))).json({ error: 'too-many-attempts' });
      return;
    }
    const found = await deps.identities.findUserForLogin(body.username);
    const ok = found !== undefined && !found.user.disabled && (await verifyPassword(body.password, found.passwordHash));
    if (!ok || !found) {
      deps.throttle.fail(keys);
      await deps.audit.append({ sessionId: null, actor: { kind: 'system', id: 'login' }, action: 'login-failed', detail: { username: body.username } });
      res.status(401).json({ error: 'invalid-credentials' });
      return;
    }
    deps.throttle.succeed(keys);
    const { token, claims } = deps.tokens.issue(found.user.id, found.user.role);
    await deps.audit.append({ sessionId: null, actor: { kind: found.user.role, id: found.user.id }, action: 'login' });
    res.cookie(SESSION_COOKIE, token, { ...cookie, maxAge: deps.tokens.ttlSeconds * 1000 });
    res.json({
      token,
      expiresAt: new Date(claims.exp * 1000).toISOString(),
      user: { id: found.user.id, displayName: found.user.displayName, role: found.user.role },
    });
  });

  // Revokes every access token the request carries (bearer and cookie), so a
  // copy of it is refused too, and clears the cookie. 204 whether or not there
  // was a token to revoke: signing out twice is not an error.
  app.post('/api/v1/auth/logout', async (req, res) => {
    for (const claims of deps.authenticator.accessTokensOf(req)) {
      if (await deps.revocations.isRevoked(claims.jti)) continue;
      await deps.revocations.revoke(claims);
      await deps.audit.append({ sessionId: null, actor: { kind: claims.role, id: claims.sub }, action: 'logout' });
    }
    res.clearCookie(SESSION_COOKIE, cookie).status(204).end();
  });

  const auth = async (req: Request, res: Response<unknown, Locals>, next: NextFunction): Promise<void> => {
    const principal = await deps.authenticator.authenticate(req);
    if (!principal) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorised' });
      return;
    }
    res.locals.principal = principal;
    next();
  };

  app.get('/api/v1/me', auth, async (_req, res: Response<unknown, Locals>) => {
    const p = res.locals.principal;
    const user = p.kind === 'user' ? await deps.identities.getUser(p.id) : undefined;
    res.json({ kind: p.kind, id: p.id, role: p.role, displayName: user?.displayName ?? null, sipUri: user?.sipUri ?? null });
  });

  app.post('/api/v1/sessions', auth, json, async (req, res: Response<unknown, Locals>) => {
    const body = parse(createSessionRequest, req.body, res);
    if (!body) return;
    const principal = res.locals.principal;
    const agentId = ownAgentId(principal) ?? null;
    const agent = agentId ? await deps.identities.getUser(agentId) : undefined;
    const agentUri = body.agentUri ?? agent?.sipUri ?? undefined;
    const link = body.mode === 'link';
    if (link && (!deps.paymentLinks || body.amount === 0)) {
      res.status(400).json({ error: 'invalid-request', field: 'mode', message: deps.paymentLinks ? 'a link session needs an amount' : 'payment links are not available with this PSP' });
      return;
    }
    if (!agentUri && !link) {
      res.status(400).json({ error: 'invalid-request', field: 'agentUri', message: 'required: no SIP URI is on file for this caller' });
      return;
    }
    const session = await deps.store.createSession({
      mode: link ? 'link' : 'agent-assisted',
      reference: body.reference,
      amountMinor: body.amount,
      currency: body.currency,
      description: body.description ?? null,
      language: body.language ?? null,
      agentId,
      // A link session takes no call: no transfer code, no call-back.
      agentUri: link ? null : (agentUri ?? null),
      code: link ? null : await newCode(deps.store),
      autoCapture: body.autoCapture ?? true,
      tokenise: link ? false : (body.tokenise ?? body.amount === 0),
      customerReference: body.customerReference ?? null,
    });
    await deps.audit.append({
      sessionId: session.id,
      actor: actorOf(principal),
      action: 'session-created',
      detail: { reference: session.reference, amountMinor: session.amountMinor, currency: session.currency },
    });
    res.status(201).json({ id: session.id, code: session.code, transferUri: transferUri(deps, session), status: session.status });
  });

  app.get('/api/v1/sessions', auth, async (req, res: Response<unknown, Locals>) => {
    const query = parse(listSessionsQuery, req.query, res);
    if (!query) return;
    const own = ownAgentId(res.locals.principal);
    const sessions = await deps.store.listSessions({ ...query, ...(own ? { agentId: own } : {}) });
    res.json({ sessions: await Promise.all(sessions.map((s) => sessionJson(deps, s))) });
  });

  const withSession = async (req: Request, res: Response<unknown, Locals>): Promise<PaymentSessionRecord | undefined> => {
    const session = await deps.store.getSession(String(req.params.id));
    if (!session) {
      res.status(404).json({ error: 'not-found' });
      return undefined;
    }
    if (!canSee(res.locals.principal, session)) {
      res.status(403).json({ error: 'forbidden' });
      return undefined;
    }
    return session;
  };

  if (deps.paymentLinks) mountPaymentLinkRoutes(app, deps.paymentLinks, { auth, withSession });

  app.get('/api/v1/sessions/:id', auth, async (req, res: Response<unknown, Locals>) => {
    const session = await withSession(req, res);
    if (!session) return;
    // Each field attempt and its outcome (an error type, never what was keyed), for QA and supervisors.
    const attempts = (await deps.store.listCaptureAttempts(session.id)).map((a) => ({ field: a.field, attempt: a.attempt, outcome: a.outcome, at: a.at }));
    res.json({ ...(await sessionJson(deps, session)), attempts });
  });

  // The session's audit trail: who did what, when; details are masked by construction.
  app.get('/api/v1/sessions/:id/audit', auth, async (req, res: Response<unknown, Locals>) => {
    const session = await withSession(req, res);
    if (!session) return;
    const entries = (await deps.audit.list({ sessionId: session.id })).map((e) => ({ seq: e.seq, at: e.at, actor: e.actor, action: e.action, detail: e.detail }));
    res.json({ entries });
  });

  const act = (name: 'capture' | 'recapture' | 'cancel' | 'complete') => [
    auth,
    json,
    async (req: Request, res: Response<unknown, Locals>) => {
      const session = await withSession(req, res);
      if (!session) return;
      let command: AgentCommand;
      if (name === 'capture' || name === 'recapture') {
        const body = parse(fieldCommand, req.body, res);
        if (!body) return;
        command = { type: name, field: body.field as CardField };
      } else {
        command = { type: name };
      }
      const actor = actorOf(res.locals.principal);
      const delivery = await deps.sessions.command(session.id, command, actor);
      if (delivery.outcome === 'not-joined' && name === 'cancel' && session.status === 'pending') {
        await deps.store.updateSession(session.id, { status: 'cancelled' });
        await deps.audit.append({ sessionId: session.id, actor, action: 'session-cancelled' });
      } else if (delivery.outcome !== 'applied') {
        answerUndelivered(res, delivery, 'caller-not-joined');
        return;
      }
      res.status(202).json({ ...(await sessionJson(deps, (await deps.store.getSession(session.id))!)), command: commandJson(command, delivery) });
    },
  ];
  app.post('/api/v1/sessions/:id/capture', ...act('capture'));
  app.post('/api/v1/sessions/:id/recapture', ...act('recapture'));
  app.post('/api/v1/sessions/:id/cancel', ...act('cancel'));
  app.post('/api/v1/sessions/:id/complete', ...act('complete'));

  // Ends the caller's leg (direct pay once the order is found, agent-assisted
  // until the caller hangs up, also after the payment while bridged to the agent).
  app.post('/api/v1/sessions/:id/release', auth, json, async (req: Request, res: Response<unknown, Locals>) => {
    const session = await withSession(req, res);
    if (!session) return;
    const actor = actorOf(res.locals.principal);
    if (deps.sessions.releaseCaller(session.id, actor) === 'not-joined') {
      res.status(409).json({ error: 'caller-not-joined' });
      return;
    }
    await deps.audit.append({ sessionId: session.id, actor, action: 'caller-released' });
    res.status(202).json(await sessionJson(deps, (await deps.store.getSession(session.id))!));
  });

  // Captures, refunds and voids: supervisors only (an agent on the call may not move money), audited with who asked.
  const reverse = (kind: PaymentModificationKind) => [
    auth,
    json,
    async (req: Request, res: Response<unknown, Locals>) => {
      const reversals = deps.reversals;
      if (!reversals) {
        res.status(404).json({ error: 'not-found' });
        return;
      }
      if (!supervisorOnly(res, 'only a supervisor may capture, refund or void a payment')) return;
      const session = await withSession(req, res);
      if (!session) return;
      const body = parse({ capture: pspCaptureRequest, refund: refundRequest, void: voidRequest }[kind], req.body, res);
      if (!body) return;
      try {
        const amount = 'amount' in body ? (body.amount as number | undefined) : undefined;
        const amountMinor = amount !== undefined ? { amountMinor: amount } : {};
        const actor = actorOf(res.locals.principal);
        const reversal =
          kind === 'capture' ? await reversals.capture(session.id, amountMinor, actor) : await reversals.reverse(session.id, { kind, ...amountMinor }, actor);
        res.status(reversal.state === 'succeeded' ? 200 : 202).json({ reversal: reversalJson(reversal), payment: await sessionJson(deps, (await deps.store.getSession(session.id))!) });
      } catch (err) {
        if (err instanceof ReversalNotAllowedError) {
          res.status(409).json({ error: err.code, message: err.message });
          return;
        }
        throw err;
      }
    },
  ];
  // Named psp-capture, not capture: /capture is the agent's command to capture a card field on the call.
  app.post('/api/v1/sessions/:id/psp-capture', ...reverse('capture'));
  app.post('/api/v1/sessions/:id/refund', ...reverse('refund'));
  app.post('/api/v1/sessions/:id/void', ...reverse('void'));

  // A merchant-initiated charge on a stored card: supervisors and API keys (the
  // merchant's back office), never an agent's login. The caller's idempotency
  // key is the payment's: a repeat answers the same payment, never a second charge.
  app.post('/api/v1/tokens/:token/charges', auth, json, async (req: Request, res: Response<unknown, Locals>) => {
    const { authoriser, records } = deps;
    if (!authoriser || !records) {
      res.status(404).json({ error: 'not-found' });
      return;
    }
    const principal = res.locals.principal;
    if (principal.role !== 'supervisor' && principal.kind !== 'api-key') {
      res.status(403).json({ error: 'forbidden', message: 'only a supervisor or an API key may charge a stored card' });
      return;
    }
    const body = parse(tokenChargeRequest, req.body, res);
    if (!body) return;
    const stored = await records.findToken(String(req.params.token));
    if (!stored) {
      res.status(404).json({ error: 'token-not-found' });
      return;
    }
    if (stored.psp !== authoriser.pspName) {
      res.status(409).json({ error: 'token-of-another-psp', message: `the token is kept by ${stored.psp}, payments go to ${authoriser.pspName}` });
      return;
    }
    const key = `mit-${body.idempotencyKey}`;
    const earlier = async (): Promise<PaymentSessionRecord | undefined> => (await deps.store.listSessions({ idempotencyKey: key, limit: 1 }))[0];
    let session = await earlier();
    const created = session === undefined;
    if (!session) {
      try {
        session = await deps.store.createSession({
          mode: 'merchant-initiated',
          reference: body.reference,
          amountMinor: body.amount,
          currency: body.currency,
          idempotencyKey: key,
          storedCardToken: stored.token,
          customerReference: stored.customer,
        });
        await deps.audit.append({
          sessionId: session.id,
          actor: actorOf(principal),
          action: 'session-created',
          detail: { reference: session.reference, amountMinor: session.amountMinor, currency: session.currency, storedCard: stored.token },
        });
      } catch (err) {
        // The same key sent twice at once: the other request made the payment.
        session = await earlier();
        if (!session) throw err;
      }
    }
    if (session.storedCardToken !== stored.token || session.amountMinor !== body.amount || session.currency !== body.currency || session.reference !== body.reference) {
      res.status(409).json({ error: 'idempotency-key-reuse', message: 'this idempotency key was used for another charge' });
      return;
    }
    const result = await authoriser.chargeStoredCard(session, stored, actorOf(principal));
    const status = !created ? 200 : result.kind === 'in-doubt' ? 202 : 201;
    res.status(status).json({ result: result.kind, payment: await sessionJson(deps, (await deps.store.getSession(session.id))!) });
  });

  // The whole audit chain recomputed: supervisors only, and the look itself audited (PCI DSS 4.0 req. 10.2.1.3, 10.3.4).
  app.get('/api/v1/audit/verify', auth, async (_req, res: Response<unknown, Locals>) => {
    if (!supervisorOnly(res, 'only a supervisor may verify the audit trail')) return;
    const verdict = await deps.audit.verify();
    await deps.audit.append({
      sessionId: null,
      actor: actorOf(res.locals.principal),
      action: 'audit-verified',
      detail: verdict.ok ? { ok: true, rows: verdict.rows } : { ok: false, rows: verdict.rows, firstBrokenSeq: verdict.firstBrokenSeq, problem: verdict.problem },
    });
    res.json(verdict);
  });

  if (deps.calls) mountCallRoutes(app, deps, deps.calls, deps.statusCallbacks, { auth, json, parse, sessionJson: (s) => sessionJson(deps, s) });
  // Without in-line mode the console still asks; it learns the mode from the answer, not from an error.
  else app.get('/api/v1/calls', auth, (_req, res) => void res.json({ inline: false, calls: [] }));

  app.get('/api/v1/payments', auth, async (req, res: Response<unknown, Locals>) => {
    const query = parse(paymentsQuery, req.query, res);
    if (!query) return;
    const own = ownAgentId(res.locals.principal);
    const payments = await deps.store.listSessions({
      ...(query.reference !== undefined ? { reference: query.reference } : {}),
      ...(query.confirmation !== undefined ? { confirmation: query.confirmation } : {}),
      ...(query.pspReference !== undefined ? { pspReference: query.pspReference } : {}),
      ...(own ? { agentId: own } : {}),
    });
    res.json({ payments: await Promise.all(payments.map((s) => sessionJson(deps, s))) });
  });
}

/** Supervisors only: anyone else gets 403 and false. */
function supervisorOnly(res: Response<unknown, Locals>, message: string): boolean {
  if (res.locals.principal.role === 'supervisor') return true;
  res.status(403).json({ error: 'forbidden', message });
  return false;
}

/** What the API shows of a session: masked card details only; with `records`, its PSP token and reversals. */
export async function sessionJson(deps: Pick<ApiDeps, 'sipHost' | 'sipPort' | 'records' | 'reversals'>, s: PaymentSessionRecord): Promise<Record<string, unknown>> {
  const token = await deps.records?.getToken(s.id);
  return {
    id: s.id,
    mode: s.mode,
    code: s.code,
    transferUri: transferUri(deps, s),
    reference: s.reference,
    status: s.status,
    amount: s.amountMinor,
    currency: s.currency,
    description: s.description,
    cardBrand: s.cardBrand,
    cardLast4: s.cardLast4,
    pspReference: s.pspReference,
    confirmation: s.confirmation,
    declineReason: s.declineReason,
    agentId: s.agentId,
    // The media server's call id: the recording is DATA_DIR/recordings/<day>/<callId>.wav.
    callId: s.callId,
    tokenise: s.tokenise,
    customerReference: s.customerReference,
    storedCardToken: s.storedCardToken,
    // The PSP's reusable token, for the merchant's own repeat payments: its ids, never card data.
    token: token ? { psp: token.psp, token: token.token, customer: token.customer, cardBrand: token.cardBrand, cardLast4: token.cardLast4, createdAt: token.createdAt } : null,
    refundable: s.status === 'approved' && deps.reversals ? await deps.reversals.refundable(s) : 0,
    capturable: deps.reversals ? await deps.reversals.capturable(s) : 0,
    reversals: ((await deps.records?.listReversals({ sessionId: s.id })) ?? []).map(reversalJson),
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

function reversalJson(r: ReversalRecord): Record<string, unknown> {
  return {
    kind: r.kind,
    amount: r.amountMinor,
    currency: r.currency,
    state: r.state,
    pspReference: r.pspReference,
    code: r.detail,
    requestedBy: r.actor,
    requestedAt: r.requestedAt,
    resolvedAt: r.resolvedAt,
  };
}

function transferUri(deps: Pick<ApiDeps, 'sipHost' | 'sipPort'>, s: PaymentSessionRecord): string | null {
  if (!s.code) return null;
  const host = deps.sipHost.includes(':') ? `[${deps.sipHost}]` : deps.sipHost;
  return `sip:pay-${s.code}@${host}:${deps.sipPort}`;
}

/** A 6-digit code no live session uses (a PBX may need digits only). */
async function newCode(store: PaymentStore): Promise<string> {
  for (;;) {
    const code = String(randomInt(100_000, 1_000_000));
    const clash = (await store.listSessions({ code, limit: 5 })).some((s) => !FINAL_PAYMENT_STATUSES.includes(s.status));
    if (!clash) return code;
  }
}

/** Validates with a schema; on failure answers 400 naming the field and returns undefined. */
function parse<S extends z.ZodType>(schema: S, input: unknown, res: Response): z.output<S> | undefined {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : '');
  res.status(400).json({ error: 'invalid-request', field, message: issue.message });
  return undefined;
}
