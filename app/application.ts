import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { checkReadiness, startHttpServer, type ReadinessProbe, type RunningHttpServer } from '../agent-bridge/http-server.js';
import { resolveAdminApiKey } from '../agent-bridge/admin-api-key.js';
import { resolveAuditKey } from './audit-key.js';
import { canSee, mountApi } from '../agent-bridge/api/api-routes.js';
import { AccessTokens } from '../agent-bridge/identity/access-token.js';
import { Authenticator, ownAgentId } from '../agent-bridge/identity/authenticator.js';
import { LoginThrottle } from '../agent-bridge/identity/login-throttle.js';
import { TokenRevocations } from '../agent-bridge/identity/token-revocations.js';
import { ProgressHub } from '../agent-bridge/stream/progress-hub.js';
import { StatusCallbacks } from '../agent-bridge/stream/status-callbacks.js';
import { resolveStatusCallbackKey } from './status-callback-key.js';
import { StreamServer } from '../agent-bridge/stream/stream-server.js';
import { LiveSessions } from '../ivr/call/live-sessions.js';
import { CardVault } from '../vault/card-vault.js';
import type { PaymentStore } from '../store/payment-store.js';
import type { AuditLog } from '../store/audit-log.js';
import type { IdentityStore } from '../store/identity-store.js';
import { openStores } from './store-adapters.js';
import { PaymentReversals } from '../psp/payment-reversals.js';
import { PspReadiness } from '../psp/psp-readiness.js';
import { AdyenWebhookHandler } from '../psp/adyen-webhooks.js';
import { mountPspWebhooks } from '../agent-bridge/api/psp-webhook-routes.js';
import { mountMetrics } from '../agent-bridge/metrics-route.js';
import { createPsp } from './psp-adapter.js';
import { createPaymentLinks, createSms, createSmsCallbacks } from './payment-link-adapters.js';
import type { PaymentLinkStore } from '../store/payment-link-store.js';
import { PaymentLinkService } from '../ivr/links/payment-link-service.js';
import { SmsDeliveryReports } from '../ivr/links/sms-delivery-reports.js';
import { mountSmsCallbacks } from '../agent-bridge/api/sms-callback-routes.js';
import { mountPaymentLinkWebhooks } from '../agent-bridge/api/link-webhook-routes.js';
import { mountSandboxPayPage } from '../agent-bridge/sandbox/sandbox-pay-routes.js';
import { Authoriser } from '../psp/authoriser.js';
import { Reconciler } from '../psp/reconciler.js';
import type { PaymentServiceProvider } from '../psp/psp-port.js';
import { FileOrderLookup } from '../ivr/orders/file-order-lookup.js';
import { HttpOrderLookup } from '../ivr/orders/http-order-lookup.js';
import type { OrderLookup } from '../ivr/orders/order-lookup-port.js';
import { PaidOrderGuard } from '../ivr/orders/paid-order-guard.js';
import { EmbeddedMediaServer } from '../media-server/embedded/embedded-media-server.js';
import { createFreeswitchMediaServer } from './freeswitch-wiring.js';
import { sipTlsOptions } from './sip-tls-files.js';
import type { MediaServer } from '../media-server/media-server-port.js';
import { PaymentIvr } from '../ivr/call/payment-ivr.js';
import { InlineCalls } from '../ivr/call/inline-calls.js';
import { agentNamed, inlineCallControl } from './inline-call-control.js';
import { StartCodeReader } from '../ivr/flow/start-code-reader.js';
import { SourceFilter } from '../media-server/embedded/sip/transport/source-filter.js';
import { settleInterruptedCalls } from '../ivr/call/interrupted-calls.js';
import { NodeTakeover } from '../ivr/call/node-takeover.js';
import { SharedStreamRetention } from '../agent-bridge/stream/shared-stream-retention.js';
import { PostgresListener } from '../store/postgres-listener.js';
import { CLUSTER_CHANNELS } from '../store/cluster-channels.js';
import { ClusterSessionControl } from './cluster-session-control.js';
import { recoverInterruptedRecordings } from '../media-server/embedded/rtp/recording-recovery.js';
import { RecorderWebhook } from '../ivr/call/recorder-webhook.js';
import { MissingPromptError, PromptCatalogue, UnplayablePromptError } from '../ivr/prompts/prompt-catalogue.js';
import { PROMPT_LANGUAGES, type PromptLanguage } from '../ivr/prompts/prompt-texts.js';
import { ConfigError, type Config } from './config.js';
import { SHIPPED_FILES } from './shipped-files.js';
import { Metrics } from './metrics.js';

export interface ApplicationOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Absolute DATA_DIR, already created. */
  readonly dataDir: string;
}

/** The running system's parts, for main() and for in-process tests. */
export interface Application {
  readonly httpUrl: string;
  /** STORE: SQLite (the default) or PostgreSQL. */
  readonly store: PaymentStore;
  /** The audit trail, in the payment database. */
  readonly audit: AuditLog;
  readonly vault: CardVault;
  readonly psp: PaymentServiceProvider;
  readonly authoriser: Authoriser;
  readonly reconciler: Reconciler;
  /** Supervisors' refunds and voids. */
  readonly reversals: PaymentReversals;
  readonly orders: OrderLookup;
  readonly identities: IdentityStore;
  readonly progress: ProgressHub;
  readonly liveSessions: LiveSessions;
  readonly mediaServer: MediaServer;
  readonly ivr: PaymentIvr;
  /** The SIP port the media server listens on (SIP_PORT, or the one picked for 0). */
  readonly sipPort: number;
  /** Where call recordings go; undefined when RECORDING=off. */
  readonly recordingDir: string | undefined;
  /** What GET /metrics serves. */
  readonly metrics: Metrics;
  /** Payment links by text message; undefined when the PSP cannot make them (Stripe without STRIPE_WEBHOOK_SECRET). */
  readonly paymentLinks: PaymentLinkService | undefined;
  /** The links made and the SMS outbox. */
  readonly links: PaymentLinkStore;
  stop(): Promise<void>;
}

/** How often the vault wipes entries past their time. */
const VAULT_SWEEP_MS = 15_000;
/** How often this node's heartbeat row is stamped. */
const HEARTBEAT_MS = 5_000;
/** After the drain, how long the calls just ended get to settle (statuses, recordings). */
const SETTLE_MS = 5_000;
/** In-line mode: a pause this long between an agent's keys ends a start code being keyed. */
const START_CODE_PAUSE_MS = 4_000;

/**
 * Wires the system on its configured adapters: SQLite store, in-memory vault,
 * sandbox PSP with authoriser and reconciler, order lookup, embedded media
 * server with the payment IVR on it, HTTP server with the stream.
 */
export async function buildApplication({ config, logger, dataDir }: ApplicationOptions): Promise<Application> {
  const prompts = promptCatalogues(config.PROMPTS_DIR);
  const auditKey = resolveAuditKey(dataDir, config.AUDIT_KEY);
  if (auditKey.source === 'generated') {
    // Printed once, at the start that created it; the key itself never is.
    logger.info({ path: auditKey.path }, 'audit key generated; keep this file (mode 0600): the audit trail is verified with it');
  }
  const { store, audit, records, identities, links, commands, progressFrames } = await openStores(config, dataDir, auditKey.key);
  // No call survives a crash: close what the last process left open before taking new ones.
  const recordingDir = config.RECORDING ? join(dataDir, 'recordings') : undefined;
  // Several nodes on one database (PostgreSQL): this node settles what its own calls left, never another live node's.
  const interrupted = await settleInterruptedCalls(
    store,
    audit,
    recoverInterruptedRecordings(join(dataDir, 'recordings')),
    config.STORE === 'postgres' ? config.NODE_ID : undefined,
  );
  // Its heartbeat row says it is alive (the way to tell a dead node's calls, ARCHITECTURE.md).
  const beat = (): void => {
    store.heartbeat(config.NODE_ID).catch((err: unknown) => logger.warn({ err }, 'heartbeat not written'));
  };
  beat();
  const heartbeat = setInterval(beat, HEARTBEAT_MS);
  heartbeat.unref();
  if (interrupted.abandoned.length + interrupted.neverAuthorised.length > 0) {
    logger.warn(
      { abandoned: interrupted.abandoned.length, neverAuthorised: interrupted.neverAuthorised.length },
      'settled the payments whose calls the last stop interrupted',
    );
  }
  const vault = new CardVault({
    acceptedBrands: config.ACCEPTED_BRANDS,
    ttlMs: config.VAULT_TTL_SECONDS * 1000,
    ...(config.VAULT_KEY ? { key: config.VAULT_KEY } : {}),
  });
  const sweeper = setInterval(() => vault.sweep(), VAULT_SWEEP_MS);
  sweeper.unref();

  // PSP tokens, refunds and webhooks live in the payment database beside the sessions.
  const psp = createPsp(config, { dataDir, records });
  // RTP and SIP totals are read at each scrape, from the media server made below (FreeSWITCH keeps its own).
  let stopping = false;
  // What /readyz answers and `payment_ivr_ready` exports, read when asked from the objects made below.
  const readiness: Readonly<Record<string, ReadinessProbe>> = {
    store: () => store.isWritable(),
    mediaServer: () => mediaServer.connected,
    accepting: () => !stopping,
    psp: () => pspReadiness.ready(),
  };
  const metrics = new Metrics({
    readiness: () => checkReadiness(readiness),
    inDoubt: async () => (await store.listAuthorisations({ state: 'in_doubt' })).length,
    ...(config.MEDIA_SERVER === 'embedded'
      ? { rtp: () => (mediaServer as EmbeddedMediaServer).rtpTotals(), sip: () => (mediaServer as EmbeddedMediaServer).sipTotals() }
      : {}),
  });
  // What every PSP-facing part works on: the adapter, the payments, their audit trail, the PSP's own records.
  const pspParts = { psp, store, audit, records };
  const authoriser = new Authoriser({
    ...pspParts,
    timeoutMs: config.PSP_TIMEOUT_MS,
    maxRetries: config.PSP_MAX_RETRIES,
    onPspCall: (name, outcome, seconds) => metrics.pspCall(name, outcome, seconds),
  });
  const reconciler = new Reconciler({
    ...pspParts,
    intervalMs: config.RECONCILE_INTERVAL_SECONDS * 1000,
    logger: logger.child({ component: 'reconciler' }),
  });
  reconciler.start();
  const reversals = new PaymentReversals({
    ...pspParts,
    capture: config.PSP_CAPTURE,
    timeoutMs: config.PSP_TIMEOUT_MS,
    maxRetries: config.PSP_MAX_RETRIES,
    intervalMs: config.RECONCILE_INTERVAL_SECONDS * 1000,
    logger: logger.child({ component: 'reversals' }),
  });
  reversals.start();
  const pspReadiness = new PspReadiness(psp, { logger: logger.child({ component: 'psp' }) });
  void pspReadiness.ready();

  // Several nodes on PostgreSQL: agent commands and progress frames reach the other nodes by notification.
  const listener =
    config.STORE === 'postgres'
      ? new PostgresListener({ url: config.DATABASE_URL as string, onError: (err) => logger.warn({ err }, 'cluster notifications: connection lost, retrying') })
      : undefined;
  const progress = new ProgressHub(
    listener && progressFrames
      ? {
          shared: {
            frames: progressFrames,
            onStored: (heard) =>
              listener.on(CLUSTER_CHANNELS.progressFrames, (payload) => {
                const [sessionId, seq] = payload.split(' ');
                if (sessionId && seq) heard(sessionId, Number(seq));
              }),
            onError: (err) => logger.error({ err }, 'a progress frame was not stored or read'),
          },
        }
      : {},
  );
  // Payment links: the PSP's page, a text message, one session paid one way only.
  let httpUrl = '';
  const linkAdapters = createPaymentLinks(config, { links, publicBaseUrl: () => config.PUBLIC_BASE_URL ?? httpUrl });
  const paymentLinks = linkAdapters
    ? new PaymentLinkService({
        store,
        links,
        audit,
        provider: linkAdapters.provider,
        sms: createSms(config, { links }),
        ttlMs: config.PAYMENT_LINK_TTL_MINUTES * 60_000,
        defaultCountry: config.SMS_DEFAULT_COUNTRY,
        language: config.LANGUAGE,
        requestTimeoutMs: config.SMS_TIMEOUT_MS,
        logger: logger.child({ component: 'payment-links' }),
        onProgress: (sessionId, event) => progress.publish(sessionId, event),
        metrics,
      })
    : undefined;
  // What the SMS provider says became of each text (its signed callbacks), on the outbox rows.
  const smsReports = new SmsDeliveryReports({
    links,
    audit,
    logger: logger.child({ component: 'sms-callbacks' }),
    onProgress: (sessionId, event) => progress.publish(sessionId, event),
    metrics,
  });
  const linkSweeper = setInterval(() => {
    paymentLinks?.sweep().catch((err: unknown) => logger.error({ err }, 'payment link sweep failed'));
  }, config.RECONCILE_INTERVAL_SECONDS * 1000);
  linkSweeper.unref();
  const webhookRefused = (psp: string) => (reason: string) => {
    audit.append({ sessionId: null, actor: { kind: 'system', id: `psp-${psp}` }, action: 'psp-webhook-refused', detail: { reason } }).catch((err: unknown) => {
      logger.error({ err }, 'audit entry not written');
    });
  };

  const adyenWebhooks =
    config.PSP === 'adyen'
      ? new AdyenWebhookHandler({
          hmacKey: config.ADYEN_HMAC_KEY!,
          records,
          reversals,
          onItem: (item) => {
            const outcome = linkAdapters?.kind === 'adyen' ? linkAdapters.adyen.outcomeOf(item) : undefined;
            return outcome && paymentLinks?.settle(outcome);
          },
        })
      : undefined;

  // An order already paid here is not taken again (unless it takes partial payments).
  const orders: OrderLookup = new PaidOrderGuard(
    config.ORDER_LOOKUP === 'http'
      ? new HttpOrderLookup({
          url: config.ORDER_LOOKUP_URL as string,
          timeoutMs: config.ORDER_LOOKUP_TIMEOUT_MS,
          ...(config.ORDER_LOOKUP_TOKEN ? { bearerToken: config.ORDER_LOOKUP_TOKEN } : {}),
        })
      : new FileOrderLookup(config.ORDERS_FILE ?? SHIPPED_FILES.demoOrdersFile),
    store,
  );

  const adminKey = resolveAdminApiKey(dataDir, config.ADMIN_API_KEY);
  if (adminKey.source === 'generated') {
    // Printed once, at the start that created it; the key itself never is.
    logger.info({ path: adminKey.path }, 'admin API key generated; read it from this file (mode 0600)');
  }

  const tokens = new AccessTokens(AccessTokens.keyFromDataDir(dataDir));
  const revocations = new TokenRevocations(identities);
  const authenticator = new Authenticator({ adminKey: adminKey.key, tokens, identities, revocations });
  const statusCallbacks = new StatusCallbacks({ hub: progress, audit, key: resolveStatusCallbackKey(dataDir, config.STATUS_CALLBACK_SECRET).key });
  const liveSessions = new LiveSessions();
  const sessionControl = new ClusterSessionControl({
    live: liveSessions,
    store,
    commands,
    ...(listener ? { listener } : {}),
    nodeId: config.NODE_ID,
    logger: logger.child({ component: 'agent-commands' }),
  });
  const visible = async (principal: Parameters<typeof canSee>[0], sessionId: string): Promise<boolean> => {
    // Whoever sees every session needs no look-up (a direct-pay session's first frames may come before its row).
    if (ownAgentId(principal) === undefined) return true;
    const session = await store.getSession(sessionId);
    return session !== undefined && canSee(principal, session);
  };

  const mediaServer =
    config.MEDIA_SERVER === 'freeswitch'
      ? await createFreeswitchMediaServer(config, logger.child({ component: 'media-server' }))
      : new EmbeddedMediaServer({
          sipHost: config.SIP_HOST,
          sipPort: config.SIP_PORT,
          sipTls: sipTlsOptions(config),
          outboundAuth: config.SIP_OUTBOUND_AUTH,
          allow: config.SIP_ALLOW,
          // The lock-out rules of failed console logins, counted apart from them.
          inboundAuth: config.SIP_AUTH_USERS && { realm: config.SIP_AUTH_REALM, users: config.SIP_AUTH_USERS, throttle: new LoginThrottle() },
          sipLimits: {
            maxUdpMessageBytes: config.SIP_UDP_MAX_MESSAGE_BYTES,
            maxTcpConnections: config.SIP_TCP_MAX_CONNECTIONS,
            maxTcpConnectionsPerSource: config.SIP_TCP_MAX_CONNECTIONS_PER_SOURCE,
            tcpIdleTimeoutMs: config.SIP_TCP_IDLE_TIMEOUT_MS,
          },
          rtpPortMin: config.RTP_PORT_MIN,
          rtpPortMax: config.RTP_PORT_MAX,
          maskMode: config.MASK_MODE,
          mediaWorkers: config.MEDIA_WORKERS,
          mediaRealtimePriority: config.MEDIA_REALTIME_PRIORITY,
          onMediaWorkerGcPause: (seconds) => metrics.mediaWorkerGcPause(seconds),
          srtp: config.SRTP,
          logger: logger.child({ component: 'media-server' }),
        });
  const recorderWebhook = config.RECORDER_WEBHOOK_URL
    ? new RecorderWebhook({
        url: config.RECORDER_WEBHOOK_URL,
        audit,
        // Capture waits for the pause; the agent sees why.
        onRetry: ({ action, reason, sessionId }) => {
          if (action === 'pause' && sessionId) progress.publish(sessionId, { type: 'waiting-for-recorder', reason });
        },
      })
    : undefined;
  if (interrupted.recorderLeftPaused.length > 0 && !recorderWebhook) {
    logger.warn({ calls: interrupted.recorderLeftPaused.length }, 'interrupted calls left an external recorder paused, and RECORDER_WEBHOOK_URL is unset now');
  }
  for (const { callId, sessionId } of interrupted.recorderLeftPaused) {
    if (!recorderWebhook) break;
    // In the background, retried like any resume: start-up does not wait for the recorder.
    recorderWebhook.resumeAfterCrash(callId, sessionId).catch((err: unknown) => {
      logger.error({ err, callId, sessionId }, 'the external recorder could not be resumed after the interrupted call');
    });
  }
  // Several nodes on one database: one live node takes over the calls of a node whose heartbeat stopped.
  const takeover =
    config.STORE === 'postgres'
      ? new NodeTakeover({
          store,
          audit,
          nodeId: config.NODE_ID,
          deadAfterMs: config.NODE_DEAD_AFTER_SECONDS * 1000,
          intervalMs: HEARTBEAT_MS,
          reconcile: (interruptedSessions) => reconciler.reconcileOnce({ interrupted: interruptedSessions }),
          ...(recorderWebhook ? { resumeRecorder: (callId: string, sessionId: string) => recorderWebhook.resumeAfterCrash(callId, sessionId) } : {}),
          logger: logger.child({ component: 'takeover' }),
        })
      : undefined;
  takeover?.start();
  const retention = new SharedStreamRetention({
    store,
    commands,
    ...(progressFrames ? { frames: progressFrames } : {}),
    retentionMs: config.STREAM_RETENTION_HOURS * 3_600_000,
    logger: logger.child({ component: 'retention' }),
  });
  retention.start();
  const carriers = new SourceFilter(config.INLINE_CARRIERS);
  const inlineCalls = config.INLINE_ROUTE
    ? new InlineCalls({
        mediaServer,
        route: config.INLINE_ROUTE,
        fromCarrier: (address) => carriers.allows(address),
        dialTimeoutMs: config.INLINE_DIAL_TIMEOUT_MS,
        agentHeader: { name: config.INLINE_AGENT_HEADER, agentOf: (value) => agentNamed(identities, value) },
        ...(config.INLINE_START_CODE === 'off'
          ? {}
          : {
              startCode: {
                reader: () => new StartCodeReader({ startCode: config.INLINE_START_CODE, minCodeLength: 4, maxCodeLength: 12 }),
                pauseMs: START_CODE_PAUSE_MS,
                onCode: (call, code) => {
                  ivr.payPreparedOnCall(call.id, code).catch((err: unknown) => logger.error({ err, call: call.id }, 'in-line start code: the prepared session was not started'));
                },
              },
            }),
        logger: logger.child({ component: 'inline' }),
      })
    : undefined;
  const ivr = new PaymentIvr({
    mediaServer,
    payNumber: config.PAY_NUMBER,
    inline: inlineCalls,
    inlineRecording: config.INLINE_RECORDING,
    prompts,
    language: config.LANGUAGE,
    recordingDir,
    ...(recorderWebhook ? { externalRecorder: (callId, sessionId) => recorderWebhook.forCall(callId, sessionId) } : {}),
    flow: {
      maxAttempts: config.MAX_ATTEMPTS,
      firstDigitTimeoutMs: config.FIRST_DIGIT_TIMEOUT_MS,
      interDigitTimeoutMs: config.INTER_DIGIT_TIMEOUT_MS,
      confirmCard: config.CONFIRM_CARD,
      confirmAmount: config.CONFIRM_AMOUNT,
    },
    agentAssisted: {
      liveSessions,
      agentUriOf: async (agentId) => (await identities.getUser(agentId))?.sipUri ?? undefined,
      muteAgentDuringCapture: config.AGENT_AUDIO_DURING_CAPTURE === 'muted',
      dialTimeoutMs: config.AGENT_DIAL_TIMEOUT_MS,
      codeTtlMs: config.SESSION_CODE_TTL_MINUTES * 60_000,
      releaseCallerAfterPayment: config.RELEASE_CALLER_AFTER_PAYMENT,
      agentHearsPrompts: config.AGENT_HEARS_PROMPTS,
    },
    deps: {
      store,
      audit,
      nodeId: config.NODE_ID,
      vault,
      authoriser,
      orders,
      logger: logger.child({ component: 'payment-call' }),
      metrics,
      ...(paymentLinks ? { links: paymentLinks } : {}),
      linkOffer: config.PAYMENT_LINK_OFFER && paymentLinks !== undefined,
      smsReceipts: config.SMS_RECEIPTS && paymentLinks !== undefined,
      onProgress: (sessionId, event) => {
        if (sessionId) progress.publish(sessionId, event);
      },
    },
    logger: logger.child({ component: 'ivr' }),
  });
  const closeCore = async (): Promise<void> => {
    clearInterval(heartbeat);
    takeover?.stop();
    retention.stop();
    await listener?.close();
    reconciler.stop();
    reversals.stop();
    clearInterval(sweeper);
    clearInterval(linkSweeper);
    metrics.stop();
    vault.close();
    await store.close();
  };
  try {
    await listener?.start();
    await mediaServer.start();
  } catch (err) {
    await closeCore();
    throw err;
  }
  ivr.start();
  const sipPort = mediaServer.sipPort;

  let http: RunningHttpServer;
  try {
    const tls = config.TLS_CERT && config.TLS_KEY ? { cert: readFileSync(config.TLS_CERT), key: readFileSync(config.TLS_KEY) } : undefined;
    http = await startHttpServer({
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      logger: logger.child({ component: 'http' }),
      readiness,
      consoleDir: SHIPPED_FILES.consoleDir,
      ...(tls ? { tls } : {}),
      routes: (app) => {
        mountMetrics(app, { render: () => metrics.render(), tokens: [config.METRICS_TOKEN, adminKey.key].filter((t) => t !== undefined) });
        mountPspWebhooks(app, { ...(adyenWebhooks ? { adyen: adyenWebhooks } : {}), logger: logger.child({ component: 'psp-webhooks' }), onRefused: webhookRefused('adyen') });
        if (paymentLinks) {
          mountPaymentLinkWebhooks(app, {
            ...(linkAdapters?.kind === 'stripe' ? { stripe: linkAdapters.stripe } : {}),
            service: paymentLinks,
            logger: logger.child({ component: 'psp-webhooks' }),
            onRefused: webhookRefused('stripe'),
          });
          mountSmsCallbacks(app, { ...createSmsCallbacks(config), reports: smsReports, logger: logger.child({ component: 'sms-callbacks' }) });
          // The sandbox's test page: PSP=sandbox only, never beside a real PSP.
          if (linkAdapters?.kind === 'sandbox' && config.PSP === 'sandbox') mountSandboxPayPage(app, { sandbox: linkAdapters.sandbox, service: paymentLinks, links, store });
        }
        mountApi(app, {
          store,
          audit,
          identities,
          authenticator,
          tokens,
          revocations,
          throttle: new LoginThrottle(),
          sessions: sessionControl,
          sipHost: config.SIP_HOST,
          sipPort,
          // RFC 6265 §4.1.2.5: a Secure cookie goes over HTTPS only, so the token never travels in clear.
          secureCookies: tls !== undefined,
          reversals,
          records,
          authoriser,
          ...(inlineCalls ? { calls: inlineCallControl(inlineCalls, ivr, identities) } : {}),
          statusCallbacks,
          ...(paymentLinks
            ? { paymentLinks: { service: paymentLinks, links, store, callerNumber: (id: string) => liveSessions.callerNumber(id), sandboxOutbox: config.SMS_PROVIDER === 'sandbox' } }
            : {}),
        });
      },
    });
  } catch (err) {
    ivr.stop();
    await mediaServer.stop();
    await closeCore();
    throw err;
  }

  httpUrl = http.url;
  const stream = new StreamServer({ hub: progress, authenticator, revocations, canSee: visible });
  stream.attach(http.server);

  return {
    httpUrl: http.url,
    identities,
    progress,
    liveSessions,
    store,
    audit,
    vault,
    psp,
    authoriser,
    reconciler,
    reversals,
    orders,
    mediaServer,
    ivr,
    sipPort,
    recordingDir,
    metrics,
    paymentLinks,
    links,
    async stop() {
      // New calls get 503 (and /readyz says so); calls in progress may finish before their legs are ended.
      stopping = true;
      mediaServer.setAcceptingCalls(false);
      ivr.stop();
      await ivr.drain(config.SHUTDOWN_DRAIN_SECONDS * 1000);
      await mediaServer.stop();
      await ivr.drain(SETTLE_MS);
      stream.close();
      statusCallbacks.close();
      await http.close();
      await closeCore();
    },
  };
}

/**
 * The prompts of every language the IVR speaks (a session may ask for any),
 * from PROMPTS_DIR or as shipped, each recording checked: a missing or
 * unplayable one stops the start rather than a call.
 */
function promptCatalogues(promptsDir: string | undefined): Map<PromptLanguage, PromptCatalogue> {
  const root = promptsDir === undefined ? SHIPPED_FILES.promptAudioDir : resolve(promptsDir);
  if (promptsDir !== undefined && !statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    throw new ConfigError('PROMPTS_DIR', `${root} is not a folder`);
  }
  const prompts = new Map(PROMPT_LANGUAGES.map((language) => [language, new PromptCatalogue(language, root)]));
  try {
    for (const catalogue of prompts.values()) catalogue.verify();
  } catch (err) {
    if (promptsDir !== undefined && (err instanceof MissingPromptError || err instanceof UnplayablePromptError)) throw new ConfigError('PROMPTS_DIR', err.message);
    throw err;
  }
  return prompts;
}
