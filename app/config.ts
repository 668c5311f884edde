import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { CARD_BRANDS, isCardBrand, type CardBrand } from '../domain/card-brand.js';
import { TWILIO_STATUS_PATH, VONAGE_RECEIPTS_PATH } from '../agent-bridge/api/sms-callback-routes.js';

const booleanSetting = z.enum(['on', 'off', 'true', 'false', '1', '0']).transform((v) => v === 'on' || v === 'true' || v === '1');
/** 0 asks the OS for a free port (tests). */
const port = z.coerce.number().int().min(0).max(65535);
const positiveMs = z.coerce.number().int().positive();

const brandList = z
  .string()
  .transform((raw, ctx) => {
    const brands = raw
      .split(',')
      .map((b) => b.trim().toLowerCase())
      .filter(Boolean);
    const unknown = brands.filter((b) => !isCardBrand(b));
    if (unknown.length > 0 || brands.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a comma-separated list of ${CARD_BRANDS.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`,
      });
      return z.NEVER;
    }
    return new Set(brands as CardBrand[]) as ReadonlySet<CardBrand>;
  });

const cidrList = z.string().transform((raw, ctx) => {
  const cidrs = raw.split(',').map((c) => c.trim()).filter(Boolean);
  const bad = cidrs.find((c) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(c));
  if (bad !== undefined || cidrs.length === 0) {
    ctx.addIssue({ code: 'custom', message: `expected a comma-separated list of addresses or CIDRs${bad ? ` (bad: ${bad})` : ''}` });
    return z.NEVER;
  }
  return cidrs as readonly string[];
});

/** A password another service checks: long enough that no stock default ("cymru", "ClueCon") passes. */
const serviceSecret = z.string().min(16, 'must be at least 16 characters (never the stock default)');

/** A binary key written as hex (an even number of hex digits) or base64, of `minBytes` to `maxBytes` bytes. */
const binaryKey = (minBytes: number, maxBytes: number, message: string) =>
  z.string().transform((raw, ctx) => {
    const key = /^(?:[0-9a-fA-F]{2})+$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
    if (key.length < minBytes || key.length > maxBytes) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return key;
  });

/** SIP_OUTBOUND_AUTH: a JSON object (in the environment, a JSON string) of target host or host:port → Digest username and password. */
const credentialsByTarget = z.preprocess(
  (raw) => {
    if (typeof raw !== 'string') return raw;
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw;
    }
  },
  z.record(z.string().min(1), z.object({ username: z.string().min(1), password: z.string().min(1) }).strict(), {
    error: 'expected a JSON object of "host" or "host:port" → {"username": …, "password": …}',
  }),
);

/** SIP_AUTH_USERS: a JSON object of username → hashed secrets, HA1 in hex per algorithm (RFC 7616 §3.4.2). */
const sipAuthUsers = z.preprocess(
  (raw) => {
    if (typeof raw !== 'string') return raw;
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw;
    }
  },
  z.record(
    z.string().regex(/^[^\s:"]+$/),
    z
      .object({ 'SHA-256': z.string().regex(/^[0-9a-fA-F]{64}$/).optional(), 'MD5': z.string().regex(/^[0-9a-fA-F]{32}$/).optional() })
      .strict()
      .refine((h) => h['SHA-256'] !== undefined || h.MD5 !== undefined, 'a user needs a SHA-256 or MD5 HA1'),
    { error: 'expected a JSON object of username → {"SHA-256": HA1 hex, "MD5": HA1 hex}' },
  ),
);

/**
 * Every setting of the system, read from the environment (and an optional
 * JSON file named by CONFIG_FILE; the environment wins). Keys are the
 * environment variable names.
 */
export const configSchema = z
  .object({
    /** Where the database, recordings and generated keys live. */
    DATA_DIR: z.string().min(1).default('./data'),
    /** `sqlite`: DATA_DIR/payments.db, one process. `postgres`: DATABASE_URL, shared by several nodes. */
    STORE: z.enum(['sqlite', 'postgres']).default('sqlite'),
    /** This node's name among the nodes sharing a database (heartbeat row, the sessions its calls hold). Default: the host name. */
    NODE_ID: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, . _ -').default(hostname()),
    /** STORE=postgres: a node whose heartbeat (every 5 s) is older than this is dead, and a live node takes over its calls. */
    NODE_DEAD_AFTER_SECONDS: z.coerce.number().int().min(10).max(3600).default(15),
    /** STORE=postgres: postgres://user:password@host:port/database. Secret (it may carry the password). */
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    HTTP_HOST: z.string().min(1).default('127.0.0.1'),
    HTTP_PORT: port.default(8080),
    /** PEM files: agent-bridge serves HTTPS and WSS when both are set. */
    TLS_CERT: z.string().min(1).optional(),
    TLS_KEY: z.string().min(1).optional(),
    /** Bearer key for the admin API; unset = generated into DATA_DIR/admin-api-key at first start. Secret. */
    ADMIN_API_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    /** HMAC-SHA-256 key of the audit chain, ≥ 32 bytes as hex or base64; unset = generated into DATA_DIR/audit-key at first start. Secret. */
    AUDIT_KEY: binaryKey(32, 1024, 'expected at least 32 bytes as hex or base64').optional(),
    /** Bearer token Prometheus sends for /metrics from off the host (loopback needs none; the admin key works too). Secret. */
    METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
    /** Which media server drives the calls: the embedded SIP/RTP engine, or FreeSWITCH through drachtio-server. */
    MEDIA_SERVER: z.enum(['embedded', 'freeswitch']).default('embedded'),
    /** MEDIA_SERVER=freeswitch: drachtio-server's application port (its admin port). */
    DRACHTIO_HOST: z.string().min(1).default('127.0.0.1'),
    DRACHTIO_PORT: port.default(9022),
    /** drachtio-server's shared secret; required with MEDIA_SERVER=freeswitch, never the stock "cymru". Secret. */
    DRACHTIO_SECRET: serviceSecret.optional(),
    /** MEDIA_SERVER=freeswitch: FreeSWITCH's event socket. */
    FREESWITCH_HOST: z.string().min(1).default('127.0.0.1'),
    FREESWITCH_PORT: port.default(8021),
    /** The event socket password; required with MEDIA_SERVER=freeswitch, never the stock "ClueCon". Secret. */
    FREESWITCH_SECRET: serviceSecret.optional(),
    /** Where we listen for FreeSWITCH's outbound event socket connections (one per channel). */
    FREESWITCH_LISTEN_HOST: z.string().min(1).default('127.0.0.1'),
    FREESWITCH_LISTEN_PORT: port.default(8085),
    /** The address FreeSWITCH connects back to, when it is not FREESWITCH_LISTEN_HOST (NAT, containers). */
    FREESWITCH_ADVERTISED_HOST: z.string().min(1).optional(),
    /** How long start-up waits for drachtio-server, then for FreeSWITCH, before it gives up. */
    MEDIA_SERVER_CONNECT_TIMEOUT_MS: positiveMs.default(5000),
    /** SIP (UDP and TCP) listens here. */
    SIP_HOST: z.string().min(1).default('127.0.0.1'),
    SIP_PORT: port.default(5060),
    /** Sources allowed to talk SIP to us; others get 403. */
    SIP_ALLOW: cidrList.default(['127.0.0.0/8', '::1/128']),
    /** UDP datagrams larger than this are dropped unread (and counted). 65 507 is the most UDP over IPv4 carries. */
    SIP_UDP_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1500).max(65_507).default(65_507),
    /** Inbound SIP TCP connections open at once; more are closed before a byte is read. */
    SIP_TCP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(65_535).default(1024),
    /** The same, per source address. */
    SIP_TCP_MAX_CONNECTIONS_PER_SOURCE: z.coerce.number().int().min(1).max(65_535).default(256),
    /** A SIP TCP connection that completes no message for this long is closed (idle, or a never-ending one). */
    SIP_TCP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
    /** PEM files: SIP over TLS (1.2+) listens on SIP_TLS_PORT when both are set; the caps above apply to its connections. */
    SIP_TLS_CERT: z.string().min(1).optional(),
    SIP_TLS_KEY: z.string().min(1).optional(),
    SIP_TLS_PORT: port.default(5061),
    /** PEM file of a private CA trusted (besides the public roots) when we call out over TLS (sips: or transport=tls). */
    SIP_TLS_CA: z.string().min(1).optional(),
    /** Digest credentials for PBXs that challenge our calls out (agent call-back), by target host or host:port. Secret. */
    SIP_OUTBOUND_AUTH: credentialsByTarget.optional(),
    /**
     * Digest users (embedded media server): an INVITE from outside SIP_ALLOW is challenged (401) instead of
     * refused, and served if its credentials verify; failures lock out as failed logins do. Hashed secrets.
     */
    SIP_AUTH_USERS: sipAuthUsers.optional(),
    /** The realm of those challenges: the one each HA1 in SIP_AUTH_USERS was computed for. */
    SIP_AUTH_REALM: z.string().regex(/^[^"\\]+$/).default('payment-ivr'),
    /** SRTP with SDES keys on the embedded media server, only where SIP runs over TLS (RFC 4568 §8.3). */
    SRTP: z.enum(['off', 'optional', 'mandatory']).default('off'),
    /** Even RTP ports are taken from this inclusive range. */
    RTP_PORT_MIN: port.default(20000),
    RTP_PORT_MAX: port.default(29999),
    /** What a masked key press becomes towards other parties. */
    MASK_MODE: z.enum(['silence', 'tone']).default('tone'),
    /**
     * Worker threads for the calls' RTP on the embedded media server (sockets, media clock, DTMF detection and
     * masking, playback, recording), each owning whole calls; SIP, the flow and the store stay on the main thread.
     * 0: the RTP runs on the main thread.
     */
    MEDIA_WORKERS: z.coerce.number().int().min(0).max(64).default(0),
    /**
     * SCHED_FIFO priority (1–99) of the threads that run a media clock (each media worker, or the main thread with
     * MEDIA_WORKERS=0), so the clock runs when its timer fires rather than after SIP, the store or another process on
     * the core; needs CAP_SYS_NICE, else a warning and the normal policy. 0: the normal policy.
     */
    MEDIA_REALTIME_PRIORITY: z.coerce.number().int().min(0).max(99).default(0),
    /** Record every call (stereo WAV under DATA_DIR/recordings), paused during card capture. */
    RECORDING: booleanSetting.default(true),
    /** An external call recorder to pause and resume by webhook (POST {action, callId, sessionId, at}). */
    RECORDER_WEBHOOK_URL: z.url().optional(),
    /** HMAC-SHA-256 key status callbacks are signed with, ≥ 32 bytes as hex or base64; unset = generated into DATA_DIR/status-callback-key at first start. Secret. */
    STATUS_CALLBACK_SECRET: binaryKey(32, 1024, 'expected at least 32 bytes as hex or base64').optional(),
    /** What the agent hears of the caller while a card field is keyed: tones masked, or nothing at all. */
    AGENT_AUDIO_DURING_CAPTURE: z.enum(['masked', 'muted']).default('masked'),
    /** How long the agent's phone may ring on the call-back before the caller goes on alone. */
    AGENT_DIAL_TIMEOUT_MS: positiveMs.default(20_000),
    /** A session's transfer code is good for this long after the session is created. */
    SESSION_CODE_TTL_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(30),
    /** Agent-assisted: hang the caller up after the result instead of leaving caller and agent bridged. */
    RELEASE_CALLER_AFTER_PAYMENT: booleanSetting.default(false),
    /** Agent-assisted: the agent hears the IVR's prompts too (they know where the caller is). */
    AGENT_HEARS_PROMPTS: booleanSetting.default(false),
    /**
     * In-line mode: calls from INLINE_CARRIERS to any other number than the
     * pay number or pay-<code> are relayed to this PBX URI, `{user}` standing
     * for the number dialled (sip:{user}@pbx.example.com:5060). Unset: off.
     */
    INLINE_ROUTE: z
      .string()
      .regex(/^sips?:[^\s<>"]+$/, 'a SIP URI such as sip:{user}@pbx.example.com:5060')
      .optional(),
    /** In-line mode: the carrier addresses whose calls are relayed (CIDRs, as SIP_ALLOW); others get 404. */
    INLINE_CARRIERS: cidrList.default(['127.0.0.0/8', '::1/128']),
    /** In-line mode: record each relayed call whole (two channels), paused in each payment's secure window; needs RECORDING=on. */
    INLINE_RECORDING: booleanSetting.default(false),
    /** In-line mode: how long the PBX (or a transfer target) may ring before the caller gets 480. */
    INLINE_DIAL_TIMEOUT_MS: positiveMs.default(60_000),
    /** In-line mode: the header the PBX adds to its answer naming the agent who took the call (their username or user id). */
    INLINE_AGENT_HEADER: z
      .string()
      .regex(/^[A-Za-z0-9!%'*+._`~-]+$/, 'a SIP header name (RFC 3261 §25.1 token) such as X-Agent-Id')
      .default('X-Agent-Id'),
    /**
     * In-line mode: what the agent keys on their phone before a session's code
     * and # to take that payment on the call (never relayed to the caller); off: none.
     */
    INLINE_START_CODE: z
      .string()
      .regex(/^(?:off|[*#][0-9*]{1,3})$/, 'off, or * or # and up to three keys such as *7')
      .default('*7'),
    /** On SIGTERM: new calls get 503 at once; calls in progress may go on this long before they are ended. */
    SHUTDOWN_DRAIN_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
    /** User part of the direct pay number: sip:<PAY_NUMBER>@SIP_HOST:SIP_PORT. */
    PAY_NUMBER: z.string().regex(/^[A-Za-z0-9_.!~*'()-]+$/, 'a SIP user part').default('pay'),
    /** Card brands the merchant accepts. */
    ACCEPTED_BRANDS: brandList.default(new Set<CardBrand>(['visa', 'mastercard', 'amex'])),
    /** 32-byte AES key for the in-memory vault; unset = a random key per process. Secret. */
    VAULT_KEY: binaryKey(32, 32, 'expected 32 bytes as 64 hex characters or base64').optional(),
    VAULT_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(600),
    /** Shared progress frames (PostgreSQL) of a session this long after its newest, and agent commands this long after their answer, are deleted. */
    STREAM_RETENTION_HOURS: z.coerce.number().min(1).max(24 * 366).default(24),
    PSP: z.enum(['sandbox', 'stripe', 'adyen']).default('sandbox'),
    /** auto: the PSP captures at once; manual: authorise only (capture later at the PSP, or void). */
    PSP_CAPTURE: z.enum(['auto', 'manual']).default('auto'),
    /** Stripe secret or restricted key (sk_… / rk_…). Secret. */
    STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_\S+$/, 'a Stripe secret key (sk_… or rk_…)').optional(),
    /** Where the Stripe adapter sends its requests (scheme, host, port). */
    STRIPE_API_BASE: z.url({ protocol: /^https?$/ }).default('https://api.stripe.com'),
    /** Adyen API key (X-API-Key). Secret. */
    ADYEN_API_KEY: z.string().min(1).optional(),
    ADYEN_MERCHANT_ACCOUNT: z.string().min(1).optional(),
    /** Adyen Checkout API base, with its version; live: https://<prefix>-checkout-live.adyenpayments.com/checkout/v71. */
    ADYEN_API_BASE: z.url({ protocol: /^https?$/ }).default('https://checkout-test.adyen.com/v71'),
    /** Hex HMAC key that signs Adyen's webhooks to /psp/adyen/webhooks. Secret. */
    ADYEN_HMAC_KEY: z.string().regex(/^([0-9a-fA-F]{2})+$/, 'hex').optional(),
    /** Signing secret (whsec_…) of the Stripe endpoint /psp/stripe/webhooks (Checkout payment links); without it PSP=stripe sends no links. Secret. */
    STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_\S+$/, 'a Stripe webhook signing secret (whsec_…)').optional(),
    /** How long a payment link may be paid (Stripe Checkout takes 30 minutes to 24 hours). */
    PAYMENT_LINK_TTL_MINUTES: z.coerce.number().int().min(30).max(24 * 60).default(60),
    /** Direct pay: offer "press 9 for a payment link by text message" to a caller on a mobile number. */
    PAYMENT_LINK_OFFER: booleanSetting.default(true),
    /** Where callers' phones reach agent-bridge (the sandbox pay page's links); default this server's own URL. */
    PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** Who sends the text messages: the sandbox outbox (GET /api/v1/sms/outbox), Twilio or Vonage. */
    SMS_PROVIDER: z.enum(['sandbox', 'twilio', 'vonage']).default('sandbox'),
    /** A national number (from the call or typed by the agent) is read in this country (ISO 3166 alpha-2). */
    SMS_DEFAULT_COUNTRY: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 country code such as FR').default('FR'),
    /** One request to the SMS provider (or to the PSP for a link) may take this long. */
    SMS_TIMEOUT_MS: positiveMs.default(10_000),
    /** Text the caller the payment's reference when it is approved, or in doubt ("you will receive a confirmation"). */
    SMS_RECEIPTS: booleanSetting.default(false),
    TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'a Twilio Account SID (AC…)').optional(),
    /** Secret. */
    TWILIO_AUTH_TOKEN: z.string().min(16).optional(),
    /** A Twilio number in E.164 or a Messaging Service SID (MG…). */
    TWILIO_FROM: z.string().min(1).optional(),
    TWILIO_API_BASE: z.url({ protocol: /^https?$/ }).default('https://api.twilio.com'),
    /** Where Twilio posts message status changes (signed with the Auth Token), ending in /sms/twilio/status; unset: none asked. */
    TWILIO_STATUS_CALLBACK_URL: z.url({ protocol: /^https?$/ }).optional(),
    VONAGE_API_KEY: z.string().min(1).optional(),
    /** Secret. */
    VONAGE_API_SECRET: z.string().min(1).optional(),
    /** A Vonage number (digits) or an alphanumeric sender id. */
    VONAGE_FROM: z.string().min(1).optional(),
    VONAGE_API_BASE: z.url({ protocol: /^https?$/ }).default('https://rest.nexmo.com'),
    /** Where Vonage sends each message's delivery receipt (`callback`), ending in /sms/vonage/delivery-receipts; unset: the account's webhook. */
    VONAGE_STATUS_CALLBACK_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** The account's signature secret: delivery receipts are taken only signed with it. Secret. */
    VONAGE_SIGNATURE_SECRET: z.string().min(16).optional(),
    /** The account's signed-webhook method (HMAC only: Vonage's MD5 "hash" is not taken). */
    VONAGE_SIGNATURE_METHOD: z.enum(['md5', 'sha1', 'sha256', 'sha512']).default('sha256'),
    /** How long one authorisation may wait for the PSP before it is in doubt. */
    PSP_TIMEOUT_MS: positiveMs.default(20_000),
    PSP_MAX_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
    /** Simulated network latency of the sandbox PSP. */
    SANDBOX_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(150),
    RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(5).default(60),
    ORDER_LOOKUP: z.enum(['file', 'http']).default('file'),
    /** JSON list of orders for ORDER_LOOKUP=file; default: the shipped demo orders. */
    ORDERS_FILE: z.string().min(1).optional(),
    /** The merchant's order endpoint for ORDER_LOOKUP=http. */
    ORDER_LOOKUP_URL: z.url().optional(),
    /** Bearer token sent to ORDER_LOOKUP_URL. Secret. */
    ORDER_LOOKUP_TOKEN: z.string().min(1).optional(),
    ORDER_LOOKUP_TIMEOUT_MS: positiveMs.default(3000),
    LANGUAGE: z.enum(['fr-FR', 'en-GB']).default('fr-FR'),
    /**
     * The operator's own recordings, laid out like ivr/prompts/audio: <dir>/<language>/<prompt id>.wav
     * for every language, 8 kHz mono WAV (16-bit PCM or G.711). Default: the shipped recordings.
     */
    PROMPTS_DIR: z.string().min(1).optional(),
    /** Ask the caller to confirm the card's last four before authorising. */
    CONFIRM_CARD: booleanSetting.default(false),
    /** Ask the caller to confirm the amount before the card number. */
    CONFIRM_AMOUNT: booleanSetting.default(false),
    MAX_ATTEMPTS: z.coerce.number().int().min(1).max(5).default(3),
    FIRST_DIGIT_TIMEOUT_MS: positiveMs.default(10_000),
    INTER_DIGIT_TIMEOUT_MS: positiveMs.default(5_000),
  })
  .superRefine((c, ctx) => {
    if ((c.TLS_CERT === undefined) !== (c.TLS_KEY === undefined)) {
      ctx.addIssue({ code: 'custom', path: [c.TLS_CERT ? 'TLS_KEY' : 'TLS_CERT'], message: 'TLS_CERT and TLS_KEY go together' });
    }
    if ((c.SIP_TLS_CERT === undefined) !== (c.SIP_TLS_KEY === undefined)) {
      ctx.addIssue({ code: 'custom', path: [c.SIP_TLS_CERT ? 'SIP_TLS_KEY' : 'SIP_TLS_CERT'], message: 'SIP_TLS_CERT and SIP_TLS_KEY go together' });
    }
    if (c.SRTP === 'mandatory' && c.SIP_TLS_CERT === undefined) {
      // Without a TLS listener no offer could carry keys (RFC 4568 §8.3): every call would get 488.
      ctx.addIssue({ code: 'custom', path: ['SRTP'], message: 'SRTP=mandatory needs SIP over TLS (SIP_TLS_CERT and SIP_TLS_KEY)' });
    }
    if (c.SIP_AUTH_USERS !== undefined && c.MEDIA_SERVER === 'freeswitch') {
      // drachtio-server terminates SIP there: outsiders would still get 403, silently unlike what was asked.
      ctx.addIssue({ code: 'custom', path: ['SIP_AUTH_USERS'], message: 'applies to MEDIA_SERVER=embedded only' });
    }
    if (c.RTP_PORT_MIN >= c.RTP_PORT_MAX) {
      ctx.addIssue({ code: 'custom', path: ['RTP_PORT_MAX'], message: 'must be above RTP_PORT_MIN' });
    }
    const needs: Record<string, readonly (keyof typeof c)[]> = {
      stripe: ['STRIPE_SECRET_KEY'],
      adyen: ['ADYEN_API_KEY', 'ADYEN_MERCHANT_ACCOUNT', 'ADYEN_HMAC_KEY'],
    };
    for (const setting of needs[c.PSP] ?? []) {
      if (c[setting] === undefined) ctx.addIssue({ code: 'custom', path: [setting], message: `required when PSP=${c.PSP}` });
    }
    const smsNeeds: Record<string, readonly (keyof typeof c)[]> = {
      twilio: ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'],
      vonage: ['VONAGE_API_KEY', 'VONAGE_API_SECRET', 'VONAGE_FROM'],
    };
    for (const setting of smsNeeds[c.SMS_PROVIDER] ?? []) {
      if (c[setting] === undefined) ctx.addIssue({ code: 'custom', path: [setting], message: `required when SMS_PROVIDER=${c.SMS_PROVIDER}` });
    }
    // The provider posts to this server's one path for it (agent-bridge/api/sms-callback-routes.ts), behind a proxy's prefix maybe; Twilio signs the whole URL.
    for (const [setting, path] of [['TWILIO_STATUS_CALLBACK_URL', TWILIO_STATUS_PATH], ['VONAGE_STATUS_CALLBACK_URL', VONAGE_RECEIPTS_PATH]] as const) {
      const url = c[setting];
      if (url !== undefined && !new URL(url).pathname.endsWith(path)) ctx.addIssue({ code: 'custom', path: [setting], message: `its path must end in ${path}` });
    }
    if (c.MEDIA_SERVER === 'freeswitch') {
      for (const setting of ['DRACHTIO_SECRET', 'FREESWITCH_SECRET'] as const) {
        if (c[setting] === undefined) ctx.addIssue({ code: 'custom', path: [setting], message: 'required when MEDIA_SERVER=freeswitch' });
      }
    }
    if (c.INLINE_ROUTE !== undefined && c.MEDIA_SERVER !== 'embedded') {
      // Relaying keys (RFC 4733 regenerated, INFO) and hold needs the embedded server's legs.
      ctx.addIssue({ code: 'custom', path: ['INLINE_ROUTE'], message: 'in-line mode needs MEDIA_SERVER=embedded' });
    }
    if (c.STORE === 'postgres' && !c.DATABASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'required when STORE=postgres' });
    }
    if (c.ORDER_LOOKUP === 'http' && !c.ORDER_LOOKUP_URL) {
      ctx.addIssue({ code: 'custom', path: ['ORDER_LOOKUP_URL'], message: 'required when ORDER_LOOKUP=http' });
    }
  });

export type Config = z.output<typeof configSchema>;

/** Settings whose values are never printed, not even in an error. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set([
  'VAULT_KEY',
  'AUDIT_KEY',
  'STATUS_CALLBACK_SECRET',
  'ORDER_LOOKUP_TOKEN',
  'ADMIN_API_KEY',
  'METRICS_TOKEN',
  'STRIPE_SECRET_KEY',
  'ADYEN_API_KEY',
  'ADYEN_HMAC_KEY',
  'DRACHTIO_SECRET',
  'FREESWITCH_SECRET',
  'SIP_OUTBOUND_AUTH',
  'STRIPE_WEBHOOK_SECRET',
  'TWILIO_AUTH_TOKEN',
  'VONAGE_API_SECRET',
  'VONAGE_SIGNATURE_SECRET',
  'SIP_AUTH_USERS',
]);

/** A setting that is missing or wrong; its message is one line naming it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super(`config: ${setting}: ${problem}`);
  }
}

/**
 * Reads the configuration. Only keys the schema knows are taken from the
 * environment; an unknown key in the CONFIG_FILE is an error (a typo there
 * would otherwise be silently ignored).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.keys(configSchema.shape);
  const input: Record<string, unknown> = {};
  if (env.CONFIG_FILE) Object.assign(input, readConfigFile(env.CONFIG_FILE, known));
  for (const key of known) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const setting = issue.path.map(String).join('.') || '(config)';
    throw new ConfigError(setting, describeIssue(issue, setting, input[setting]));
  }
  return parsed.data;
}

function readConfigFile(path: string, known: string[]): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError('CONFIG_FILE', `cannot read ${path} as JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError('CONFIG_FILE', `${path} must hold a JSON object of settings`);
  }
  const unknown = Object.keys(data).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new ConfigError('CONFIG_FILE', `${path} has unknown setting ${unknown[0]}`);
  // Numbers and booleans in the file are read like their environment spelling.
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, typeof v === 'number' || typeof v === 'boolean' ? String(v) : v]),
  );
}

function describeIssue(issue: z.core.$ZodIssue, setting: string, value: unknown): string {
  const shown = SECRET_SETTINGS.has(setting) || value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `expected one of ${issue.values.map(String).join(', ')}${shown}`;
  }
  return `${issue.message.replace(/\s+/g, ' ')}${shown}`;
}
