import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { isLoopback, mayReadMetrics, METRICS_PATH, mountMetrics } from '../../../agent-bridge/metrics-route.js';

const TOKEN = 'metrics-token-metrics-token-0123456789';
const ADMIN = 'admin-key-admin-key-admin-key-0123456789';

function request(remoteAddress: string | undefined, authorization?: string): Parameters<typeof mayReadMetrics>[0] {
  return { socket: { remoteAddress }, headers: authorization === undefined ? {} : { authorization } } as never;
}

describe('/metrics access', () => {
  it('knows loopback addresses, IPv4, IPv6 and IPv4-mapped', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopback(address), address).toBe(true);
    for (const address of ['192.0.2.2', '10.0.0.1', '::ffff:192.0.2.2', '::', '0.0.0.0', '128.0.0.1', 'fe80::1', '', undefined]) {
      expect(isLoopback(address), String(address)).toBe(false);
    }
  });

  it('lets loopback clients in without a credential', () => {
    expect(mayReadMetrics(request('127.0.0.1'), [TOKEN])).toBe(true);
    expect(mayReadMetrics(request('::1'), [])).toBe(true);
  });

  it('asks other clients for a bearer token: the metrics token or the admin key', () => {
    const tokens = [TOKEN, ADMIN];
    expect(mayReadMetrics(request('192.0.2.2'), tokens)).toBe(false);
    expect(mayReadMetrics(request('192.0.2.2', `Bearer ${TOKEN}`), tokens)).toBe(true);
    expect(mayReadMetrics(request('192.0.2.2', `bearer ${ADMIN}`), tokens)).toBe(true);
    expect(mayReadMetrics(request('192.0.2.2', `Bearer ${TOKEN}x`), tokens)).toBe(false);
    expect(mayReadMetrics(request('192.0.2.2', `Basic ${TOKEN}`), tokens)).toBe(false);
    expect(mayReadMetrics(request('192.0.2.2', 'Bearer '), tokens)).toBe(false);
    expect(mayReadMetrics(request('192.0.2.2', `Bearer ${TOKEN}`), [])).toBe(false);
  });

  it('serves the exposition with its content type to a loopback client', async () => {
    const app = express();
    mountMetrics(app, { render: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'up 1\n' }), tokens: [] });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${METRICS_PATH}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await res.text()).toBe('up 1\n');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
