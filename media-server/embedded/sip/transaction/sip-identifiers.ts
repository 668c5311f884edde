import { randomBytes } from 'node:crypto';
import { BRANCH_MAGIC_COOKIE } from '../message/index.js';

/*
 * Branches, tags and Call-IDs. Each takes 64 random bits from a pool refilled
 * 512 at a time, so a busy server does not call into the CSPRNG per message.
 */
const POOL_WORDS = 512;
let pool = randomBytes(POOL_WORDS * 8);
let next = 0;

function random64(): string {
  if (next === POOL_WORDS) {
    pool = randomBytes(POOL_WORDS * 8);
    next = 0;
  }
  const offset = next++ * 8;
  return pool.readBigUInt64BE(offset).toString(36);
}

/**
 * A new Via branch: "MUST be unique across space and time for all requests
 * sent by the UA" and "MUST always begin with the characters z9hG4bK"
 * (RFC 3261 §8.1.1.7).
 */
export function newBranch(): string {
  return `${BRANCH_MAGIC_COOKIE}${random64()}`;
}

/** A From/To tag: "globally unique and cryptographically random with at least 32 bits of randomness" (§19.3). */
export function newTag(): string {
  return random64();
}

/** A Call-ID: "MUST be a globally unique identifier" (§8.1.1.4); the host part narrows the space (§20.8). */
export function newCallId(host: string): string {
  return `${random64()}${random64()}@${host.includes(':') ? `[${host}]` : host}`;
}
