import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpOrderLookup } from '../../../ivr/orders/http-order-lookup.js';

/** A merchant order endpoint on loopback; each test sets how it answers. */
describe('HttpOrderLookup against a local merchant server', () => {
  let server: Server;
  let origin: string;
  let base: string;
  let answer: (res: ServerResponse, reference: string | null) => void;
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      answer(res, new URL(req.url ?? '/', 'http://merchant').searchParams.get('reference'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    base = `${origin}/orders`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it('finds an order, sending the reference and the bearer token', async () => {
    answer = (res) => json(res, 200, { reference: '1001', amountMinor: 4250, currency: 'EUR', description: 'Order 1001' });
    const lookup = new HttpOrderLookup({ url: base, bearerToken: 'tok' });
    expect(await lookup.find('1001')).toEqual({ kind: 'found', order: { reference: '1001', amountMinor: 4250, currency: 'EUR', description: 'Order 1001' } });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('/orders?reference=1001');
    expect(seen[0]!.headers.authorization).toBe('Bearer tok');
  });

  it('finds an order whose body leaves out reference and description, with no Authorization header', async () => {
    answer = (res) => json(res, 200, { amountMinor: 500, currency: 'EUR' });
    expect(await new HttpOrderLookup({ url: base }).find('1003')).toEqual({ kind: 'found', order: { reference: '1003', amountMinor: 500, currency: 'EUR' } });
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it("passes on the merchant's partialPayments flag", async () => {
    answer = (res) => json(res, 200, { amountMinor: 500, currency: 'EUR', partialPayments: true });
    expect(await new HttpOrderLookup({ url: base }).find('1003')).toEqual({ kind: 'found', order: { reference: '1003', amountMinor: 500, currency: 'EUR', partialPayments: true } });
  });

  it('fills a {reference} template and keeps query parameters of a plain URL', async () => {
    answer = (res) => json(res, 200, { amountMinor: 1, currency: 'EUR' });
    await new HttpOrderLookup({ url: `${origin}/orders/{reference}?shop=x` }).find('1001');
    await new HttpOrderLookup({ url: `${base}?shop=x` }).find('1002');
    expect(seen.map((s) => s.url)).toEqual(['/orders/1001?shop=x', '/orders?shop=x&reference=1002']);
  });

  it('maps 404 to not-found', async () => {
    answer = (res) => res.writeHead(404).end('no such order');
    expect(await new HttpOrderLookup({ url: base }).find('404')).toEqual({ kind: 'not-found' });
  });

  it('maps 500 and other statuses to unavailable', async () => {
    answer = (res) => res.writeHead(500).end('oops');
    expect(await new HttpOrderLookup({ url: base }).find('1')).toEqual({ kind: 'unavailable', reason: 'HTTP 500' });
    answer = (res) => res.writeHead(401).end();
    expect(await new HttpOrderLookup({ url: base }).find('1')).toEqual({ kind: 'unavailable', reason: 'HTTP 401' });
  });

  it('maps malformed JSON and a body that does not validate to unavailable', async () => {
    const lookup = new HttpOrderLookup({ url: base });
    answer = (res) => json(res, 200, '{not json');
    expect(await lookup.find('1')).toEqual({ kind: 'unavailable', reason: 'body is not JSON' });
    answer = (res) => json(res, 200, { amountMinor: -1, currency: 'EUR' });
    expect(await lookup.find('1')).toEqual({ kind: 'unavailable', reason: 'bad body: amountMinor' });
    answer = (res) => json(res, 200, { amountMinor: 100, currency: 'euro' });
    expect(await lookup.find('1')).toEqual({ kind: 'unavailable', reason: 'bad body: currency' });
    answer = (res) => json(res, 200, '[]');
    expect(await lookup.find('1')).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/^bad body/) });
    answer = (res) => json(res, 200, { reference: '2002', amountMinor: 100, currency: 'EUR' });
    expect(await lookup.find('1001')).toEqual({ kind: 'unavailable', reason: 'bad body: reference is another order' });
  });

  it('gives up on a slow server after the timeout: unavailable', async () => {
    answer = (res) => setTimeout(() => json(res, 200, { amountMinor: 1, currency: 'EUR' }), 1000);
    // 'timeout' (not the late answer) is the proof it gave up before the server replied.
    expect(await new HttpOrderLookup({ url: base, timeoutMs: 150 }).find('1')).toEqual({ kind: 'unavailable', reason: 'timeout' });
  });

  it('gives up on a body that stops half way: unavailable (timeout)', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"amountMinor": 1');
    };
    expect(await new HttpOrderLookup({ url: base, timeoutMs: 150 }).find('1')).toEqual({ kind: 'unavailable', reason: 'timeout' });
  });

  it("stops when the caller's signal aborts: unavailable (aborted)", async () => {
    answer = (res) => setTimeout(() => json(res, 200, { amountMinor: 1, currency: 'EUR' }), 1000);
    const lookup = new HttpOrderLookup({ url: base, timeoutMs: 5000 });
    expect(await lookup.find('1', { signal: AbortSignal.timeout(50) })).toEqual({ kind: 'unavailable', reason: 'aborted' });
  });

  it('maps a refused connection to unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await new HttpOrderLookup({ url: `http://127.0.0.1:${port}/orders`, timeoutMs: 1000 }).find('1')).toEqual({
      kind: 'unavailable',
      reason: 'network: ECONNREFUSED',
    });
  });

  it('refuses a URL that is not http(s) at construction', () => {
    expect(() => new HttpOrderLookup({ url: 'ftp://merchant/orders' })).toThrow(TypeError);
    expect(() => new HttpOrderLookup({ url: 'not a url' })).toThrow(TypeError);
  });
});
