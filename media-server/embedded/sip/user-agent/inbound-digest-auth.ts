import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseAuthChallenge, SipSyntaxError } from '../message/index.js';

/** The algorithms we challenge with, strongest first: a UAS lists them in its preference order (RFC 8760 §2.4). */
export const INBOUND_DIGEST_ALGORITHMS = ['SHA-256', 'MD5'] as const;
export type InboundDigestAlgorithm = (typeof INBOUND_DIGEST_ALGORITHMS)[number];
const HASH: Readonly<Record<InboundDigestAlgorithm, string>> = { 'SHA-256': 'sha256', 'MD5': 'md5' };

/**
 * A user's hashed secret for one realm: HA1 = H(username ":" realm ":"
 * password) in hex, per algorithm (RFC 7616 §3.4.2), what SIP servers keep
 * instead of the password. A user without the hash of an algorithm cannot
 * answer its challenge.
 */
export type DigestHa1 = Readonly<Partial<Record<InboundDigestAlgorithm, string>>>;

/** Failed attempts and lock-out (the console's LoginThrottle fits: the same rules as failed logins). */
export interface SipAuthThrottle {
  /** Milliseconds until these keys (`user:<name>`, `ip:<address>`) may try again; 0 now. */
  retryAfterMs(keys: readonly string[]): number;
  fail(keys: readonly string[]): void;
  succeed(keys: readonly string[]): void;
}

export interface InboundDigestAuthOptions {
  /** The realm of the challenges, the one the users' HA1 were computed for (SIP_AUTH_REALM). */
  readonly realm: string;
  /** SIP_AUTH_USERS: username → hashed secrets. */
  readonly users: Readonly<Record<string, DigestHa1>>;
  readonly throttle: SipAuthThrottle;
  /** How long a nonce is taken; older ones get a new challenge with stale=true. Default 5 minutes. */
  readonly nonceLifetimeMs?: number;
  /** Default Date.now. */
  readonly now?: () => number;
}

/** What to do with an INVITE from a source outside SIP_ALLOW. */
export type DigestVerdict =
  | { readonly kind: 'authenticated'; readonly username: string }
  /** 401 with fresh challenges; `failure` says why the credentials given were refused, if any were. */
  | { readonly kind: 'challenge'; readonly stale: boolean; readonly failure?: DigestFailure; readonly username?: string }
  /** Too many failures for this user or source: refused (403) without a challenge. */
  | { readonly kind: 'locked-out'; readonly retryAfterMs: number; readonly failure?: DigestFailure; readonly username?: string };

export type DigestFailure = 'malformed' | 'unknown-user' | 'wrong-response' | 'bad-nonce' | 'replayed' | 'unsupported';

const NONCE_MAC_BYTES = 16;

/**
 * Digest authentication of INVITEs from outside SIP_ALLOW (RFC 3261 §22.2,
 * RFC 7616, RFC 8760 for SHA-256): challenges with SHA-256 and MD5, qop=auth;
 * verifies the response from the user's HA1 only. Nonces are stateless —
 * issue time and an HMAC over it and the source address, under a key drawn
 * at start — so a flood of INVITEs holds nothing; the nonce counts of
 * answered nonces are kept until they expire, refusing a replayed
 * Authorization (RFC 7616 §3.4: nc must grow). Failures count in the
 * throttle per user and per source, as failed console logins do (PCI DSS
 * 4.0 req. 8.3.4).
 */
export class InboundDigestAuth {
  readonly realm: string;
  readonly #users: ReadonlyMap<string, DigestHa1>;
  /** The algorithms some user has an HA1 for: only those are offered. */
  readonly #offered: readonly InboundDigestAlgorithm[];
  readonly #throttle: SipAuthThrottle;
  readonly #lifetimeMs: number;
  readonly #now: () => number;
  readonly #key = randomBytes(32);
  /** Answered nonces → highest nc seen and the nonce's issue time. */
  readonly #counts = new Map<string, { nc: number; issued: number }>();

  constructor(options: InboundDigestAuthOptions) {
    this.realm = options.realm;
    this.#users = new Map(Object.entries(options.users));
    // An algorithm no user could answer is not offered: some UAs (baresip 1.0 on libre 1.1) give up on a
    // challenge they cannot compute instead of skipping it as RFC 8760 §2.4 asks.
    this.#offered = INBOUND_DIGEST_ALGORITHMS.filter((a) => [...this.#users.values()].some((hashes) => hashes[a] !== undefined));
    this.#throttle = options.throttle;
    this.#lifetimeMs = options.nonceLifetimeMs ?? 5 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** WWW-Authenticate values for a 401 to `address`, SHA-256 first (§22.1, RFC 8760 §2.4), for the algorithms some user has. */
  challenges(address: string, stale = false): string[] {
    const nonce = this.#nonce(this.#now(), address);
    return this.#offered.map(
      (algorithm) => `Digest realm="${this.realm}", nonce="${nonce}", algorithm=${algorithm}, qop="auth"${stale ? ', stale=true' : ''}`,
    );
  }

  /** Checks an INVITE's Authorization (undefined when it has none) from `address`. */
  check(request: { readonly method: string; readonly uri: string; readonly authorization: string | undefined }, address: string): DigestVerdict {
    const source = `ip:${address}`;
    if (request.authorization === undefined) {
      const wait = this.#throttle.retryAfterMs([source]);
      return wait > 0 ? { kind: 'locked-out', retryAfterMs: wait } : { kind: 'challenge', stale: false };
    }
    let params: ReadonlyMap<string, string>;
    try {
      const parsed = parseAuthChallenge(request.authorization);
      if (parsed.scheme.toLowerCase() !== 'digest') return this.#failed([source], 'unsupported');
      params = parsed.params;
    } catch (err) {
      if (!(err instanceof SipSyntaxError)) throw err;
      return this.#failed([source], 'malformed');
    }
    const username = params.get('username');
    if (username === undefined) return this.#failed([source], 'malformed');
    const keys = [`user:${username}`, source];
    const wait = this.#throttle.retryAfterMs(keys);
    if (wait > 0) return { kind: 'locked-out', retryAfterMs: wait, username };

    const algorithm = INBOUND_DIGEST_ALGORITHMS.find((a) => a === (params.get('algorithm') ?? 'MD5').toUpperCase());
    const nonce = params.get('nonce') ?? '';
    const nc = Number.parseInt(params.get('nc') ?? '', 16);
    const cnonce = params.get('cnonce');
    if (!algorithm || params.get('qop') !== 'auth' || cnonce === undefined || !Number.isInteger(nc) || nc < 1) return this.#failed(keys, 'unsupported', username);
    if (params.get('realm') !== this.realm) return this.#failed(keys, 'malformed', username);
    const issued = this.#issuedAt(nonce, address);
    if (issued === undefined) return this.#failed(keys, 'bad-nonce', username);
    // The response covers the digest-uri as given. It is not compared with the Request-URI: SIPp, for one,
    // puts the remote address there (sip:host:port); a replay is stopped by the nonce count instead.
    const uri = params.get('uri');
    if (uri === undefined || !/^sips?:/i.test(uri)) return this.#failed(keys, 'malformed', username);
    const ha1 = this.#users.get(username)?.[algorithm];
    if (ha1 === undefined) return this.#failed(keys, 'unknown-user', username);

    const h = (text: string): string => createHash(HASH[algorithm]).update(text).digest('hex');
    const expected = Buffer.from(h(`${ha1.toLowerCase()}:${nonce}:${params.get('nc')}:${cnonce}:auth:${h(`${request.method}:${uri}`)}`));
    const given = Buffer.from((params.get('response') ?? '').toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return this.#failed(keys, 'wrong-response', username);

    // Right credentials on a nonce past its time: a new challenge marked stale, not a failure (RFC 7616 §3.3).
    if (this.#now() - issued > this.#lifetimeMs) return { kind: 'challenge', stale: true, username };
    this.#forgetExpired();
    const seen = this.#counts.get(nonce);
    if (seen && nc <= seen.nc) return this.#failed(keys, 'replayed', username);
    this.#counts.set(nonce, { nc, issued });
    this.#throttle.succeed(keys);
    return { kind: 'authenticated', username };
  }

  #failed(keys: readonly string[], failure: DigestFailure, username?: string): DigestVerdict {
    this.#throttle.fail(keys);
    const wait = this.#throttle.retryAfterMs(keys);
    if (wait > 0) return { kind: 'locked-out', retryAfterMs: wait, failure, ...(username === undefined ? {} : { username }) };
    return { kind: 'challenge', stale: false, failure, ...(username === undefined ? {} : { username }) };
  }

  /** base64url(issue time ms, 8 bytes ‖ HMAC-SHA-256(key, time ‖ address) truncated to 16 bytes). */
  #nonce(at: number, address: string): string {
    const time = Buffer.alloc(8);
    time.writeBigUInt64BE(BigInt(at));
    return Buffer.concat([time, this.#mac(time, address)]).toString('base64url');
  }

  #mac(time: Buffer, address: string): Buffer {
    return createHmac('sha256', this.#key).update(time).update(address).digest().subarray(0, NONCE_MAC_BYTES);
  }

  /** The issue time of a nonce we gave `address`, or undefined if we did not. */
  #issuedAt(nonce: string, address: string): number | undefined {
    const bytes = Buffer.from(nonce, 'base64url');
    if (bytes.length !== 8 + NONCE_MAC_BYTES || bytes.toString('base64url') !== nonce) return undefined;
    const time = bytes.subarray(0, 8);
    if (!timingSafeEqual(bytes.subarray(8), this.#mac(time, address))) return undefined;
    return Number(time.readBigUInt64BE());
  }

  #forgetExpired(): void {
    const oldest = this.#now() - this.#lifetimeMs;
    for (const [nonce, { issued }] of this.#counts) if (issued < oldest) this.#counts.delete(nonce);
  }
}
