import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startHttpServer, type RunningHttpServer } from '../../agent-bridge/http-server.js';
import { resolveAdminApiKey } from '../../agent-bridge/admin-api-key.js';
import { canSee, mountApi } from '../../agent-bridge/api/api-routes.js';
import { AccessTokens } from '../../agent-bridge/identity/access-token.js';
import { Authenticator } from '../../agent-bridge/identity/authenticator.js';
import { LoginThrottle } from '../../agent-bridge/identity/login-throttle.js';
import { ProgressHub } from '../../agent-bridge/stream/progress-hub.js';
import { StreamServer } from '../../agent-bridge/stream/stream-server.js';
import { SqliteIdentityStore } from '../../store/sqlite-identity-store.js';
import { LiveSessions } from '../call/live-sessions.js';
import { CardVault } from '../../vault/card-vault.js';
import { SqlitePaymentStore } from '../../store/sqlite-payment-store.js';
import { SandboxPsp } from '../../psp/sandbox-psp.js';
import { Authoriser } from '../../psp/authoriser.js';
import { Reconciler } from '../../psp/reconciler.js';
import type { PaymentServiceProvider } from '../../psp/psp-port.js';
import { FileOrderLookup } from '../orders/file-order-lookup.js';
import { HttpOrderLookup } from '../orders/http-order-lookup.js';
import type { OrderLookup } from '../orders/order-lookup-port.js';
import type { Config } from './config.js';
import { projectRoot } from './project-root.js';

export interface ApplicationOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Absolute DATA_DIR, already created. */
  readonly dataDir: string;
}

/** The running system's parts, for main() and for in-process tests. */
export interface Application {
  readonly httpUrl: string;
  readonly store: SqlitePaymentStore;
  readonly vault: CardVault;
  readonly psp: PaymentServiceProvider;
  readonly authoriser: Authoriser;
  readonly reconciler: Reconciler;
  readonly orders: OrderLookup;
  readonly identities: SqliteIdentityStore;
  readonly progress: ProgressHub;
  readonly liveSessions: LiveSessions;
  stop(): Promise<void>;
}

/** How often the vault wipes entries past their time. */
const VAULT_SWEEP_MS = 15_000;

/**
 * Wires the system on its configured adapters: SQLite store, in-memory vault,
 * sandbox PSP with authoriser and reconciler, order lookup, HTTP server.
 */
export async function buildApplication({ config, logger, dataDir }: ApplicationOptions): Promise<Application> {
  const store = new SqlitePaymentStore({ dataDir });
  const vault = new CardVault({
    acceptedBrands: config.ACCEPTED_BRANDS,
    ttlMs: config.VAULT_TTL_SECONDS * 1000,
    ...(config.VAULT_KEY ? { key: config.VAULT_KEY } : {}),
  });
  const sweeper = setInterval(() => vault.sweep(), VAULT_SWEEP_MS);
  sweeper.unref();

  const psp = new SandboxPsp({
    ledgerFile: join(dataDir, 'sandbox-psp-ledger.json'),
    latencyMs: config.SANDBOX_LATENCY_MS,
  });
  const authoriser = new Authoriser({
    psp,
    store,
    timeoutMs: config.PSP_TIMEOUT_MS,
    maxRetries: config.PSP_MAX_RETRIES,
  });
  const reconciler = new Reconciler({
    psp,
    store,
    intervalMs: config.RECONCILE_INTERVAL_SECONDS * 1000,
    logger: logger.child({ component: 'reconciler' }),
  });
  reconciler.start();

  const orders: OrderLookup =
    config.ORDER_LOOKUP === 'http'
      ? new HttpOrderLookup({
          url: config.ORDER_LOOKUP_URL as string,
          timeoutMs: config.ORDER_LOOKUP_TIMEOUT_MS,
          ...(config.ORDER_LOOKUP_TOKEN ? { bearerToken: config.ORDER_LOOKUP_TOKEN } : {}),
        })
      : new FileOrderLookup(config.ORDERS_FILE ?? join(projectRoot(), 'ivr/orders/demo-orders.json'));

  const adminKey = resolveAdminApiKey(dataDir, config.ADMIN_API_KEY);
  if (adminKey.source === 'generated') {
    // Printed once, at the start that created it; the key itself never is.
    logger.info({ path: adminKey.path }, 'admin API key generated; read it from this file (mode 0600)');
  }

  const identities = new SqliteIdentityStore(store.database);
  const tokens = new AccessTokens(AccessTokens.keyFromDataDir(dataDir));
  const authenticator = new Authenticator({ adminKey: adminKey.key, tokens, identities });
  const progress = new ProgressHub();
  const liveSessions = new LiveSessions();
  const visible = (principal: Parameters<typeof canSee>[0], sessionId: string): boolean => {
    const session = store.getSession(sessionId);
    return session !== undefined && canSee(principal, session);
  };

  let http: RunningHttpServer;
  try {
    http = await startHttpServer({
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      logger: logger.child({ component: 'http' }),
      readiness: { store: () => store.isWritable() },
      ...(config.TLS_CERT && config.TLS_KEY ? { tls: { cert: readFileSync(config.TLS_CERT), key: readFileSync(config.TLS_KEY) } } : {}),
      routes: (app) =>
        mountApi(app, {
          store,
          identities,
          authenticator,
          tokens,
          throttle: new LoginThrottle(),
          sessions: liveSessions,
          sipHost: config.SIP_HOST,
          sipPort: config.SIP_PORT,
        }),
    });
  } catch (err) {
    reconciler.stop();
    clearInterval(sweeper);
    store.close();
    throw err;
  }

  const stream = new StreamServer({ hub: progress, authenticator, canSee: visible });
  stream.attach(http.server);

  return {
    httpUrl: http.url,
    identities,
    progress,
    liveSessions,
    store,
    vault,
    psp,
    authoriser,
    reconciler,
    orders,
    async stop() {
      stream.close();
      await http.close();
      reconciler.stop();
      clearInterval(sweeper);
      vault.close();
      store.close();
    },
  };
}
