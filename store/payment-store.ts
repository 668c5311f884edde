import type { AuthorisationState } from '../domain/payment-lifecycle.js';
import type { CardBrand } from '../domain/card-brand.js';
import type {
  CaptureErrorType,
  CardField,
  CurrencyCode,
  DeclineReason,
  PaymentMode,
  PaymentStatus,
} from '../domain/payment-types.js';

/**
 * What the store keeps of a payment. By construction it has no field that
 * could hold a PAN, an expiry or a security code (PCI DSS 4.0 req. 3.2.1, 3.3.1).
 */
export interface PaymentSessionRecord {
  readonly id: string;
  readonly mode: PaymentMode;
  readonly reference: string;
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  readonly description: string | null;
  readonly status: PaymentStatus;
  readonly cardBrand: CardBrand | null;
  readonly cardLast4: string | null;
  readonly pspReference: string | null;
  /** The short reference the caller hears and receipts show; given by the store when the payment becomes approved. */
  readonly confirmation: string | null;
  readonly authCode: string | null;
  readonly declineReason: DeclineReason | null;
  /** Set when the flow asks to authorise; reused for every retry of the same payment. */
  readonly idempotencyKey: string | null;
  readonly callId: string | null;
  readonly language: string | null;
  /** Agent-assisted: the agent who owns the session. */
  readonly agentId: string | null;
  /** Agent-assisted: the code the PBX dials (sip:pay-<code>@...). */
  readonly code: string | null;
  /** Agent-assisted: where the IVR calls the agent back. */
  readonly agentUri: string | null;
  /** Agent-assisted: capture every field without waiting for the agent. */
  readonly autoCapture: boolean;
  /** Store the card at the PSP for repeat payments (amount 0: store only). */
  readonly tokenise: boolean;
  /** The merchant's customer the stored card belongs to (tokenising sessions, merchant-initiated charges). */
  readonly customerReference: string | null;
  /** Merchant-initiated: the PSP token (stored card) charged; null for every other mode. */
  readonly storedCardToken: string | null;
  /** NODE_ID of the node whose call holds the session (created it, or joined it); null before a call. */
  readonly nodeId: string | null;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface NewPaymentSession {
  readonly id?: string;
  readonly mode: PaymentMode;
  readonly reference: string;
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  readonly description?: string | null;
  readonly callId?: string | null;
  readonly language?: string | null;
  readonly agentId?: string | null;
  readonly code?: string | null;
  readonly agentUri?: string | null;
  readonly autoCapture?: boolean;
  readonly tokenise?: boolean;
  readonly customerReference?: string | null;
  /** Merchant-initiated: the caller's idempotency key is the payment's from the start. */
  readonly idempotencyKey?: string | null;
  /** Merchant-initiated: the PSP token charged (required for that mode, refused for the others). */
  readonly storedCardToken?: string | null;
  /** NODE_ID of the node whose call creates it (direct pay). */
  readonly nodeId?: string | null;
}

export type PaymentSessionUpdate = Partial<
  Pick<
    PaymentSessionRecord,
    'status' | 'cardBrand' | 'cardLast4' | 'pspReference' | 'authCode' | 'declineReason' | 'idempotencyKey' | 'callId'
  >
>;

/** One try at one card field: accepted or refused with its error type. */
export interface CaptureAttemptRecord {
  readonly sessionId: string;
  readonly field: CardField;
  readonly attempt: number;
  readonly outcome: 'accepted' | CaptureErrorType;
  readonly at: string;
}


/**
 * An authorisation intent, written before the PSP is called so a crash or
 * timeout can be reconciled by its idempotency key.
 */
export interface AuthorisationRecord {
  readonly idempotencyKey: string;
  readonly sessionId: string;
  readonly psp: string;
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  readonly state: AuthorisationState;
  readonly pspReference: string | null;
  readonly detail: string | null;
  readonly requestedAt: string;
  readonly resolvedAt: string | null;
}

export interface PaymentQuery {
  /** The merchant's order or invoice reference. */
  readonly reference?: string;
  /** The short reference of an approved payment (exact, upper case). */
  readonly confirmation?: string;
  /** The PSP's reference of the payment. */
  readonly pspReference?: string;
  /** The payment's idempotency key (a merchant-initiated charge's is its caller's). */
  readonly idempotencyKey?: string;
  readonly status?: PaymentStatus;
  readonly mode?: PaymentMode;
  readonly agentId?: string;
  readonly code?: string;
  /** The sessions whose calls a node holds. */
  readonly nodeId?: string;
  readonly limit?: number;
}

/** One node of a cluster on the database, as its heartbeat row says. */
export interface NodeRecord {
  readonly id: string;
  readonly startedAt: string;
  readonly heartbeatAt: string;
}

/** Work that one node of a cluster does at a time: the in-doubt reconciler's pass, taking over a dead node's calls. */
export type ClusterJob = 'reconcile' | 'takeover' | 'retention';

/** The store port: sessions, capture attempts, authorisation intents (the audit trail is its own port, audit-log.ts). */
export interface PaymentStore {
  createSession(input: NewPaymentSession): Promise<PaymentSessionRecord>;
  getSession(id: string): Promise<PaymentSessionRecord | undefined>;
  /** Changes a session; one becoming `approved` is given its unique confirmation code then. */
  updateSession(id: string, update: PaymentSessionUpdate): Promise<PaymentSessionRecord>;
  listSessions(query: PaymentQuery): Promise<PaymentSessionRecord[]>;
  /**
   * Joins a call to an agent-assisted session: sets its call id only while it
   * has none and is not final, in one conditional write, so two calls (on
   * this node or another) cannot both join it. Undefined when it was taken.
   */
  joinSession(id: string, callId: string, nodeId?: string | null): Promise<PaymentSessionRecord | undefined>;
  /** Undoes `joinSession` for a call that left before anything was captured (the session is still `pending`): another transfer may join. */
  leaveSession(id: string, callId: string): Promise<void>;

  recordCaptureAttempt(attempt: Omit<CaptureAttemptRecord, 'at'>): Promise<CaptureAttemptRecord>;
  listCaptureAttempts(sessionId: string): Promise<CaptureAttemptRecord[]>;

  /** Writes the intent (state `requested`); throws if the key exists for another session. */
  recordAuthorisationIntent(input: {
    idempotencyKey: string;
    sessionId: string;
    psp: string;
    amountMinor: number;
    currency: CurrencyCode;
  }): Promise<AuthorisationRecord>;
  resolveAuthorisation(
    idempotencyKey: string,
    update: { state: AuthorisationState; pspReference?: string | null; detail?: string | null },
  ): Promise<AuthorisationRecord>;
  getAuthorisation(idempotencyKey: string): Promise<AuthorisationRecord | undefined>;
  listAuthorisations(filter: { state?: AuthorisationState; sessionId?: string }): Promise<AuthorisationRecord[]>;

  /**
   * Runs `work` unless another process on the same database is running the
   * same job now; then resolves undefined without running it. One process
   * on SQLite always runs it; PostgreSQL holds an advisory lock meanwhile.
   */
  runAlone<T>(job: ClusterJob, work: () => Promise<T>): Promise<T | undefined>;

  /** The node's heartbeat: its row in `nodes` stamped now (created with `startedAt` at its first beat). */
  heartbeat(nodeId: string): Promise<void>;
  /** Every node that ever beat, by id. */
  listNodes(): Promise<NodeRecord[]>;

  /** A write probe for readiness checks. */
  isWritable(): Promise<boolean>;
  /** Safe to call twice. */
  close(): Promise<void>;
}
