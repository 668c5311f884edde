import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { mountConsole } from './console/console-routes.js';

/** A named check behind /readyz: true when that dependency can serve. */
export type ReadinessProbe = () => boolean | Promise<boolean>;

/** Runs every probe: a probe that throws counts as not ready. */
export async function checkReadiness(probes: Readonly<Record<string, ReadinessProbe>>): Promise<Record<string, boolean>> {
  const checks: Record<string, boolean> = {};
  for (const [name, probe] of Object.entries(probes)) {
    try {
      checks[name] = await probe();
    } catch {
      checks[name] = false;
    }
  }
  return checks;
}

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger: Logger;
  /** Checks behind /readyz (store writable, media server connected, PSP reachable...). */
  readonly readiness: Readonly<Record<string, ReadinessProbe>>;
  /** Mounts the API routes before the JSON 404 and error handlers. */
  readonly routes?: (app: Express) => void;
  /** PEM certificate and key: serve HTTPS (and WSS) instead of HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** The agent console's static files, served at `/` after the API routes; unset: no console. */
  readonly consoleDir?: string;
}

export interface RunningHttpServer {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * agent-bridge's HTTP server: health endpoints for orchestrators, the API
 * routes, then the agent console's static page. Every error is JSON and
 * carries no request body back.
 */
export function createHttpApp(options: Omit<HttpServerOptions, 'host' | 'port'>): Express {
  const app = express();
  app.disable('x-powered-by');
  // No CORS headers anywhere: browsers on other origins cannot call the API.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Content-Security-Policy', "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    if (options.tls) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const checks = await checkReadiness(options.readiness);
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', checks });
  });

  options.routes?.(app);
  if (options.consoleDir !== undefined) mountConsole(app, options.consoleDir);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not-found' });
  });
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500;
    if (status >= 500) options.logger.error({ err }, 'request failed');
    res.status(status).json({ error: status >= 500 ? 'internal-error' : (err.type ?? 'bad-request') });
  });
  return app;
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const app = createHttpApp(options);
  const server: Server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, app) : createServer(app);
  // Slow clients cannot hold connections open (slowloris).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    server,
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
