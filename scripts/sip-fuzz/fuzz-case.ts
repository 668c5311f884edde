import { SeededRandom } from './seeded-random.js';
import { MUTATIONS, type MutationName } from './sip-mutations.js';
import { seedRequest, seedResponse, serialiseParts, SEED_METHODS, type SeedAddressing, type SeedMethod } from './sip-seed-messages.js';

/** The most a UDP datagram carries over IPv4 (65 535 − 8 − 20). */
export const MAX_UDP_PAYLOAD = 65_507;

export type FuzzTransport = 'udp' | 'tcp';

/** One fuzzed message: what it was made from, how it was broken, and its bytes. */
export interface FuzzCase {
  readonly index: number;
  readonly transport: FuzzTransport;
  readonly seed: SeedMethod | 'response';
  readonly mutations: readonly MutationName[];
  readonly bytes: Buffer;
}

export interface FuzzCaseOptions {
  /** Share of messages sent over TCP, 0–1. */
  readonly tcpShare: number;
  /** Addresses for each transport's messages (their Via names where answers go). */
  readonly addressing: Readonly<Record<FuzzTransport, SeedAddressing>>;
}

/** The transport of message `index` of the run with `seed`, without making the message. */
export function fuzzCaseTransport(seed: number, index: number, tcpShare: number): FuzzTransport {
  return new SeededRandom(seed, index).chance(tcpShare) ? 'tcp' : 'udp';
}

/**
 * Message `index` of the run with `seed`: a valid INVITE, OPTIONS, INFO or
 * BYE (or now and then a stray response) broken by one to three mutations.
 * It depends on nothing but (seed, index) and the addresses, so any message
 * of a run can be made again on its own to replay a finding.
 */
export function fuzzCase(seed: number, index: number, options: FuzzCaseOptions): FuzzCase {
  const rng = new SeededRandom(seed, index);
  const transport: FuzzTransport = rng.chance(options.tcpShare) ? 'tcp' : 'udp';
  const at = options.addressing[transport];
  const kind = rng.chance(0.05) ? 'response' : rng.pick(SEED_METHODS);
  const parts = kind === 'response' ? seedResponse(index, rng, at) : seedRequest(kind, index, rng, at);

  const howMany = rng.chance(0.7) ? 1 : rng.chance(0.66) ? 2 : 3;
  const chosen = new Set<(typeof MUTATIONS)[number]>();
  while (chosen.size < howMany) chosen.add(rng.pick(MUTATIONS));
  const context = { maxBytes: MAX_UDP_PAYLOAD, host: at.viaHost };
  // Structure first, then bytes: a flipped byte inside a folded header, a truncated huge one.
  const ordered = [...chosen].sort((a, b) => (a.stage === b.stage ? 0 : a.stage === 'parts' ? -1 : 1));
  let bytes: Buffer | undefined;
  for (const mutation of ordered) {
    if (mutation.stage === 'parts') mutation.apply(parts, rng, context);
    else bytes = mutation.apply(bytes ?? serialiseParts(parts), rng, context);
  }
  bytes ??= serialiseParts(parts);
  // A datagram cannot be larger: the kernel would refuse it (EMSGSIZE).
  if (transport === 'udp' && bytes.length > MAX_UDP_PAYLOAD) bytes = bytes.subarray(0, MAX_UDP_PAYLOAD);
  return { index, transport, seed: kind, mutations: ordered.map((m) => m.name), bytes };
}
