import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { FileOrderLookup, OrdersFileError } from '../../../ivr/orders/file-order-lookup.js';

const dir = mkdtempSync(join(tmpdir(), 'orders-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ordersFile(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('FileOrderLookup', () => {
  const demo = new FileOrderLookup(join(projectRoot(), 'ivr/orders/demo-orders.json'));

  it('has the demo orders', async () => {
    // The demo orders QA pays again and again take partial payments; 1004 is paid once only.
    expect(await demo.find('1001')).toEqual({
      kind: 'found',
      order: { reference: '1001', amountMinor: 4250, currency: 'EUR', description: 'Order 1001', partialPayments: true },
    });
    expect(await demo.find('1004')).toEqual({
      kind: 'found',
      order: { reference: '1004', amountMinor: 1250, currency: 'EUR', description: 'Order 1004, paid once only' },
    });
    expect(await demo.find('1002')).toMatchObject({ kind: 'found', order: { reference: '1002', amountMinor: 19900, currency: 'EUR' } });
    expect(await demo.find('1003')).toMatchObject({ kind: 'found', order: { reference: '1003', amountMinor: 500, currency: 'EUR' } });
  });

  it('answers not-found for an unknown reference', async () => {
    expect(await demo.find('9999')).toEqual({ kind: 'not-found' });
    expect(await demo.find('')).toEqual({ kind: 'not-found' });
    expect(await demo.find('01001')).toEqual({ kind: 'not-found' });
  });

  it('refuses a bad entry, naming the file, the entry and the field', () => {
    const file = ordersFile('bad-entry.json', [
      { reference: '1', amountMinor: 1, currency: 'EUR' },
      { reference: 'A1', amountMinor: 1, currency: 'EUR' },
    ]);
    expect(() => new FileOrderLookup(file)).toThrow(OrdersFileError);
    expect(() => new FileOrderLookup(file)).toThrow(`orders file ${file}: entry 1 (reference "A1"): reference:`);
    const amount = ordersFile('bad-amount.json', [{ reference: '7', amountMinor: 1.5, currency: 'EUR' }]);
    expect(() => new FileOrderLookup(amount)).toThrow(/entry 0 \(reference "7"\): amountMinor:/);
  });

  it('refuses a file that is not JSON, not a list, missing, or has a reference twice', () => {
    expect(() => new FileOrderLookup(ordersFile('truncated.json', '['))).toThrow(OrdersFileError);
    expect(() => new FileOrderLookup(ordersFile('object.json', { orders: [] }))).toThrow(/expected a JSON list/);
    expect(() => new FileOrderLookup(join(dir, 'absent.json'))).toThrow(OrdersFileError);
    const twice = ordersFile('twice.json', [
      { reference: '5', amountMinor: 1, currency: 'EUR' },
      { reference: '5', amountMinor: 2, currency: 'EUR' },
    ]);
    expect(() => new FileOrderLookup(twice)).toThrow(/entry 1: reference 5 appears twice/);
  });
});
