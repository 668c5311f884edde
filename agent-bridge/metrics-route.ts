import type { Express, Request } from 'express';
import { matchesKey } from './admin-api-key.js';

/** Where Prometheus scrapes. */
export const METRICS_PATH = '/metrics';

export interface MetricsRouteOptions {
  /** The exposition in Prometheus' text format, and its Content-Type. */
  readonly render: () => Promise<{ readonly contentType: string; readonly body: string }>;
  /**
   * Bearer tokens that open /metrics to a client not on loopback
   * (METRICS_TOKEN, and the admin API key). Loopback clients need none.
   */
  readonly tokens: readonly string[];
}

/**
 * GET /metrics. Who may read it: a client on loopback (Prometheus or an
 * agent on the same host) with no credential, and any other client with
 * `Authorization: Bearer <token>` for one of `tokens`; others get 401. The
 * metrics hold no card data and no ids, but call volumes and outcomes are
 * the merchant's business: not for everyone who reaches the agent console.
 * The address is the TCP peer's, never X-Forwarded-For: a reverse proxy on
 * the same host makes every client loopback, so such a deployment blocks
 * /metrics at the proxy or scrapes with the token.
 */
export function mountMetrics(app: Express, options: MetricsRouteOptions): void {
  app.get(METRICS_PATH, async (req, res) => {
    if (!mayReadMetrics(req, options.tokens)) {
      res.status(401).set('WWW-Authenticate', 'Bearer realm="metrics"').json({ error: 'unauthorised' });
      return;
    }
    const { contentType, body } = await options.render();
    res.type(contentType).send(body);
  });
}

export function mayReadMetrics(req: Pick<Request, 'headers' | 'socket'>, tokens: readonly string[]): boolean {
  if (isLoopback(req.socket.remoteAddress)) return true;
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  // Every token compared, in constant time each, so the time taken does not tell which one matched.
  return bearer !== undefined && tokens.map((token) => matchesKey(bearer, token)).some(Boolean);
}

/** 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6 (a dual-stack socket's `::ffff:127.0.0.1`). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === '::1';
}
