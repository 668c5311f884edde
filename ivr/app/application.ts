import { join } from 'node:path';
import type { Logger } from 'pino';
import { startHttpServer, type RunningHttpServer } from '../../agent-bridge/http-server.js';
import { resolveAdminApiKey } from '../../agent-bridge/admin-api-key.js';
import { mountPaymentsRoutes } from '../../agent-bridge/payments-routes.js';
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

  let http: RunningHttpServer;
  try {
    http = await startHttpServer({
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      logger: logger.child({ component: 'http' }),
      readiness: { store: () => store.isWritable() },
      routes: (app) => mountPaymentsRoutes(app, { store, adminKey: adminKey.key }),
    });
  } catch (err) {
    reconciler.stop();
    clearInterval(sweeper);
    store.close();
    throw err;
  }

  return {
    httpUrl: http.url,
    store,
    vault,
    psp,
    authoriser,
    reconciler,
    orders,
    async stop() {
      await http.close();
      reconciler.stop();
      clearInterval(sweeper);
      vault.close();
      store.close();
    },
  };
}
