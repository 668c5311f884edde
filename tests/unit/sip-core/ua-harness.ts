import { SipUserAgent, type SipUserAgentOptions } from '../../../media-server/embedded/sip/user-agent/index.js';
import { FakeClock } from './fake-clock.js';
import { flush, memoryPair, type MemoryTransport } from './memory-wire.js';

export const TIMERS = { t1: 500, t2: 4_000, t4: 5_000 };

export interface UaPair {
  readonly clock: FakeClock;
  /** The caller side (port 5070). */
  readonly a: SipUserAgent;
  /** The called side (port 5080). */
  readonly b: SipUserAgent;
  readonly wireA: MemoryTransport;
  readonly wireB: MemoryTransport;
  /** Moves the fake clock in steps, letting deliveries happen between them. */
  run(ms: number, step?: number): Promise<void>;
}

/** Two user agents wired back to back through in-memory transports, on one fake clock. */
export async function uaPair(
  options: Partial<Pick<SipUserAgentOptions, 'userAgent' | 'allow' | 'maxServerTransactions'>> & {
    /** Options of the called side only (b), over the common ones. */
    readonly called?: Partial<Pick<SipUserAgentOptions, 'allow' | 'inboundAuth'>>;
  } = {},
): Promise<UaPair> {
  const clock = new FakeClock();
  const [wireA, wireB] = memoryPair(clock);
  const allow = options.allow ?? { allows: () => true };
  const common = {
    allow,
    clock,
    timers: TIMERS,
    ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    ...(options.maxServerTransactions ? { maxServerTransactions: options.maxServerTransactions } : {}),
  };
  const a = new SipUserAgent({ ...common, transport: wireA, contactHost: '127.0.0.1', contactPort: 5070 });
  const b = new SipUserAgent({ ...common, ...options.called, transport: wireB, contactHost: '127.0.0.1', contactPort: 5080 });
  await a.start();
  await b.start();
  const run = async (ms: number, step = 50): Promise<void> => {
    for (let t = 0; t < ms; t += step) {
      clock.advance(Math.min(step, ms - t));
      await flush(3);
    }
  };
  return { clock, a, b, wireA, wireB, run };
}

export { flush };
