import { describe, expect, it } from 'vitest';
import { parseSipMessage, SipParseError } from '../../../media-server/embedded/sip/message/index.js';
import { parseTarget } from '../../../scripts/sip-fuzz.js';
import { fuzzCase, fuzzCaseTransport, MAX_UDP_PAYLOAD, type FuzzCaseOptions } from '../../../scripts/sip-fuzz/fuzz-case.js';
import { SeededRandom } from '../../../scripts/sip-fuzz/seeded-random.js';
import { MUTATION_NAMES } from '../../../scripts/sip-fuzz/sip-mutations.js';
import { seedRequest, SEED_METHODS, serialiseParts } from '../../../scripts/sip-fuzz/sip-seed-messages.js';

const at = { targetHost: '127.0.0.1', targetPort: 5060, viaHost: '127.0.0.1', viaPort: 40000 };
const OPTIONS: FuzzCaseOptions = { tcpShare: 0.3, addressing: { udp: { ...at, transport: 'UDP' }, tcp: { ...at, transport: 'TCP' } } };

describe('SIP fuzzer messages', () => {
  it('the same seed and number give the same bytes; another seed other bytes', () => {
    for (const index of [0, 1, 17, 4242]) {
      expect(fuzzCase(7, index, OPTIONS).bytes.equals(fuzzCase(7, index, OPTIONS).bytes)).toBe(true);
      expect(fuzzCaseTransport(7, index, 0.3)).toBe(fuzzCase(7, index, OPTIONS).transport);
    }
    const a = Array.from({ length: 20 }, (_, i) => fuzzCase(7, i, OPTIONS).bytes.toString('latin1')).join('|');
    const b = Array.from({ length: 20 }, (_, i) => fuzzCase(8, i, OPTIONS).bytes.toString('latin1')).join('|');
    expect(a).not.toBe(b);
  });

  it('seeds are valid SIP the project parses, before any mutation', () => {
    const rng = new SeededRandom(1);
    for (const method of SEED_METHODS) {
      for (const transport of ['UDP', 'TCP'] as const) {
        const message = parseSipMessage(serialiseParts(seedRequest(method, 1, rng, { ...at, transport })), { transport: transport === 'UDP' ? 'udp' : 'tcp' });
        expect(message.kind === 'request' && message.method).toBe(method);
      }
    }
  });

  it('over 2,000 messages: every mutation, both transports, datagrams within UDP\'s limit, most refused by the parser', () => {
    const seen = new Set<string>();
    const transports = new Set<string>();
    let refused = 0;
    let largest = 0;
    for (let i = 0; i < 2_000; i++) {
      const c = fuzzCase(20261203, i, OPTIONS);
      c.mutations.forEach((m) => seen.add(m));
      transports.add(c.transport);
      if (c.transport === 'udp') largest = Math.max(largest, c.bytes.length);
      try {
        parseSipMessage(c.bytes, { transport: c.transport });
      } catch (err) {
        if (!(err instanceof SipParseError)) throw err;
        refused++;
      }
    }
    expect([...seen].sort()).toEqual([...MUTATION_NAMES].sort());
    expect([...transports].sort()).toEqual(['tcp', 'udp']);
    expect(largest).toBeLessThanOrEqual(MAX_UDP_PAYLOAD);
    expect(largest).toBeGreaterThan(60_000);
    expect(refused).toBeGreaterThan(1_000);
  });

  it('reads --target as HOST:PORT or [V6]:PORT', () => {
    expect(parseTarget('127.0.0.1:5060')).toEqual({ host: '127.0.0.1', port: 5060 });
    expect(parseTarget('[::1]:5070')).toEqual({ host: '::1', port: 5070 });
    expect(() => parseTarget('127.0.0.1')).toThrow(RangeError);
    expect(() => parseTarget('host:70000')).toThrow(RangeError);
  });
});
