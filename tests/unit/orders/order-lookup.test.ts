import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../ivr/app/project-root.js';
import { FileOrderLookup, OrdersFileError } from '../../../ivr/orders/file-order-lookup.js';
import { HttpOrderLookup } from '../../../ivr/orders/http-order-lookup.js';

describe('FileOrderLookup', () => {
  const demo = new FileOrderLookup(join(projectRoot(), 'ivr/orders/demo-orders.json'));
  it('has the demo orders', async () => {
    expect(await demo.find('1001')).toEqual({ kind: 'found', order: { reference: '1001', amountMinor: 4250, currency: 'EUR', description: 'Order 1001' } });
    expect(await demo.find('1002')).toMatchObject({ order: { amountMinor: 19900 } });
    expect(await demo.find('1003')).toMatchObject({ order: { amountMinor: 500 } });
    expect(await demo.find('9999')).toEqual({ kind: 'not-found' });
  });

  it('refuses a bad file naming the entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orders-'));
    const file = join(dir, 'orders.json');
    writeFileSync(file, JSON.stringify([{ reference: '1', amountMinor: 1, currency: 'EUR' }, { reference: 'A1', amountMinor: 1, currency: 'EUR' }]));
    expect(() => new FileOrderLookup(file)).toThrow(OrdersFileError);
    expect(() => new FileOrderLookup(file)).toThrow(/entry 1\.reference/);
    writeFileSync(file, '[');
    expect(() => new FileOrderLookup(file)).toThrow(OrdersFileError);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('HttpOrderLookup against a local merchant server', () => {
  let server: Server;
  let base: string;
  const seen: { url: string; auth: string | undefined }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization });
      const reference = new URL(req.url ?? '/', 'http://x').searchParams.get('reference');
      if (reference === '1001') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ amountMinor: 4250, currency: 'EUR', description: 'Order' }));
      else if (reference === '500') res.writeHead(500).end('oops');
      else if (reference === 'bad') res.writeHead(200).end('{not json');
      else if (reference === 'shape') res.writeHead(200).end(JSON.stringify({ amountMinor: -1, currency: 'euro' }));
      else if (reference === 'slow') setTimeout(() => res.writeHead(200).end('{}'), 1000);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('finds an order, with the bearer token', async () => {
    const lookup = new HttpOrderLookup({ url: base, bearerToken: 'tok' });
    expect(await lookup.find('1001')).toEqual({ kind: 'found', order: { reference: '1001', amountMinor: 4250, currency: 'EUR', description: 'Order' } });
    expect(seen.at(-1)).toEqual({ url: '/orders?reference=1001', auth: 'Bearer tok' });
  });

  it('maps 404 to not-found and everything else to unavailable, never throwing', async () => {
    const lookup = new HttpOrderLookup({ url: base, timeoutMs: 200 });
    expect(await lookup.find('404')).toEqual({ kind: 'not-found' });
    expect(await lookup.find('500')).toEqual({ kind: 'unavailable', reason: 'HTTP 500' });
    expect(await lookup.find('bad')).toEqual({ kind: 'unavailable', reason: 'body is not JSON' });
    expect(await lookup.find('shape')).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/^bad body/) });
    expect(await lookup.find('slow')).toEqual({ kind: 'unavailable', reason: 'timeout' });
    const down = new HttpOrderLookup({ url: 'http://127.0.0.1:9/orders', timeoutMs: 200 });
    expect((await down.find('1')).kind).toBe('unavailable');
  });

  it('fills a {reference} template', async () => {
    const lookup = new HttpOrderLookup({ url: base.replace('/orders', '/orders/{reference}?x=1') });
    await lookup.find('1001');
    expect(seen.at(-1)?.url).toBe('/orders/1001?x=1');
  });
});
