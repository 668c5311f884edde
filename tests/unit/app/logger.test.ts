import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../app/logger.js';
import { scrubPans } from '../../../domain/pan-scrubber.js';

// Public test card numbers (Stripe's documented test cards).
const VISA = '4242424242424242';
const MASTERCARD = '5555555555554444';
const AMEX = '378282246310005';

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', destination: { write: (l: string) => void lines.push(l) } });
  return { lines, logger };
}

describe('logger redaction by field name', () => {
  it('censors card fields at the top level and nested', () => {
    const { lines, logger } = capture();
    logger.info({ pan: 'x', cvv: 'y', expiry: 'z', securityCode: 'w' }, 'top');
    logger.info({ payment: { cardNumber: 'x', card: { any: 1 } }, deep: { a: { digits: 'q' } } }, 'nested');
    const [top, nested] = lines.map((l) => JSON.parse(l));
    expect(top).toMatchObject({ pan: '[REDACTED]', cvv: '[REDACTED]', expiry: '[REDACTED]', securityCode: '[REDACTED]' });
    expect(nested.payment).toEqual({ cardNumber: '[REDACTED]', card: '[REDACTED]' });
    expect(nested.deep.a.digits).toBe('[REDACTED]');
  });

  it('uses ISO times, so no epoch millisecond run reaches the scrubber', () => {
    const { lines, logger } = capture();
    logger.info('hello');
    expect(JSON.parse(lines[0]!).time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });
});

describe('PAN safety net', () => {
  it('masks Luhn-valid runs anywhere in a line: message, unknown keys, errors, grouped digits', () => {
    const { lines, logger } = capture();
    logger.info(`caller keyed ${VISA} by mistake`);
    logger.warn({ note: `mc ${MASTERCARD}`, list: [AMEX] }, 'odd');
    logger.error(new Error(`bad card 4242 4242 4242 4242 and 5555-5555-5555-4444`), 'boom');
    logger.info({ amount: Number(VISA) }, 'as a number');
    const out = lines.join('');
    for (const pan of [VISA, MASTERCARD, AMEX, '4242 4242 4242 4242', '5555-5555-5555-4444']) {
      expect(out).not.toContain(pan);
    }
    expect(out).toContain('[PAN ****4242]');
    expect(out).toContain('[PAN ****4444]');
    expect(out).toContain('[PAN ****0005]');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('leaves numbers that are not card numbers alone', () => {
    expect(scrubPans('order 1001 amount 4250 id 4242424242424241')).toBe('order 1001 amount 4250 id 4242424242424241');
    expect(scrubPans('run 12345678901')).toBe('run 12345678901');
    expect(scrubPans('no digits')).toBe('no digits');
  });
});
