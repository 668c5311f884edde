import { pino, type DestinationStream, type Logger } from 'pino';
import { scrubPans } from '../domain/pan-scrubber.js';

export type { Logger } from 'pino';

/** Every key under which card data could travel, at any depth pino can reach. */
const CARD_FIELD_KEYS = [
  'pan',
  'cardNumber',
  'card_number',
  'number',
  'expiry',
  'expiryMonth',
  'expiryYear',
  'exp_month',
  'exp_year',
  'cvc',
  'cvv',
  'cvv2',
  'securityCode',
  'security_code',
  'digit',
  'digits',
  'card',
];

export const REDACTED_PATHS: readonly string[] = CARD_FIELD_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export interface LoggerOptions {
  /** Default 'info'. */
  readonly level?: string;
  /** Where JSON lines go. Default: stdout. */
  readonly destination?: DestinationStream;
  /** Fields on every line (component, call id...). */
  readonly base?: Record<string, unknown>;
}

/**
 * pino JSON logger with two layers of card-data protection: redaction of the
 * card fields by name, and a scrubber over each serialised line that masks any
 * Luhn-valid 12–19 digit run, wherever it hides (message text, error stacks,
 * nested values). Times are ISO strings so a millisecond epoch is never
 * mistaken for a card number.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const target = options.destination ?? pino.destination({ dest: 1, sync: false });
  const scrubbing: DestinationStream = {
    write(line: string): void {
      target.write(scrubPans(line));
    },
  };
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? null,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_PATHS], censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    scrubbing,
  );
}
