import { createHash, randomBytes } from 'node:crypto';
import { parseAuthChallenge, SipSyntaxError, type AuthChallenge } from '../message/index.js';

/** What we answer a PBX's challenge with (SIP_OUTBOUND_AUTH). The password is never logged. */
export interface DigestCredentials {
  readonly username: string;
  readonly password: string;
}

/** RFC 7616 §3.4.1 / RFC 8760 §2: the hash each algorithm names (a `-sess` variant hashes HA1 again with the nonces). */
const HASHES: Readonly<Record<string, string>> = { 'MD5': 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };
/** RFC 8760 §2.4: with several challenges, the UAC uses the strongest algorithm it supports. */
const STRENGTH = ['SHA-512-256', 'SHA-256', 'MD5'];

interface Algorithm {
  readonly name: string;
  readonly hash: string;
  readonly session: boolean;
}

function algorithmOf(challenge: AuthChallenge): Algorithm | undefined {
  // RFC 2617 §3.2.1: "If this is not present it is assumed to be MD5".
  const name = challenge.params.get('algorithm') ?? 'MD5';
  const session = /-sess$/i.test(name);
  const base = STRENGTH.find((a) => a.toLowerCase() === name.toLowerCase().replace(/-sess$/, ''));
  return base === undefined ? undefined : { name, hash: HASHES[base] as string, session };
}

/** The Digest challenge to answer among a 401's or 407's (RFC 8760 §2.4: the strongest we support); undefined if none. */
export function chooseDigestChallenge(values: readonly string[]): AuthChallenge | undefined {
  let best: { challenge: AuthChallenge; rank: number } | undefined;
  for (const value of values) {
    let challenge: AuthChallenge;
    try {
      challenge = parseAuthChallenge(value);
    } catch (err) {
      if (err instanceof SipSyntaxError) continue;
      throw err;
    }
    if (challenge.scheme.toLowerCase() !== 'digest' || !challenge.params.has('realm') || !challenge.params.has('nonce')) continue;
    const algorithm = algorithmOf(challenge);
    if (!algorithm) continue;
    const qop = qopOf(challenge);
    // A -sess algorithm needs a cnonce, which only a qop brings (RFC 7616 §3.4.2).
    if (algorithm.session && qop === undefined) continue;
    const rank = STRENGTH.indexOf(algorithm.name.replace(/-sess$/i, '').toUpperCase());
    if (best === undefined || rank < best.rank) best = { challenge, rank };
  }
  return best?.challenge;
}

/** RFC 3261 §22.4 / RFC 7616 §3.3: "auth" when offered, else "auth-int"; undefined for an RFC 2069 challenge (no qop). */
function qopOf(challenge: AuthChallenge): 'auth' | 'auth-int' | undefined {
  const offered = challenge.params.get('qop');
  if (offered === undefined) return undefined;
  const options = offered.split(',').map((q) => q.trim().toLowerCase());
  if (options.includes('auth')) return 'auth';
  return options.includes('auth-int') ? 'auth-int' : undefined;
}

const quote = (s: string): string => `"${s.replace(/(["\\])/g, '\\$1')}"`;

export interface DigestRequest {
  readonly method: string;
  /** The Request-URI (the digest-uri, RFC 3261 §22.4). */
  readonly uri: string;
  /** For qop=auth-int. */
  readonly body: Buffer;
  /** How many requests this nonce has answered, this one included (nc). */
  readonly nonceCount: number;
  /** Default: 16 random bytes, hex. Tests pass RFC 7616's. */
  readonly cnonce?: string;
}

/**
 * The Authorization (or Proxy-Authorization) value answering `challenge`
 * (RFC 3261 §22.2, §22.4; RFC 7616 §3.4 for the hashes, RFC 8760 for
 * SHA-256 in SIP). Throws `RangeError` for a challenge `chooseDigestChallenge`
 * would not have chosen.
 */
export function digestAuthorization(challenge: AuthChallenge, credentials: DigestCredentials, request: DigestRequest): string {
  const algorithm = algorithmOf(challenge);
  const realm = challenge.params.get('realm');
  const nonce = challenge.params.get('nonce');
  if (!algorithm || realm === undefined || nonce === undefined) throw new RangeError('not a Digest challenge this stack answers');
  const qop = qopOf(challenge);
  const h = (text: string | Buffer): string => createHash(algorithm.hash).update(text).digest('hex');
  const cnonce = request.cnonce ?? randomBytes(16).toString('hex');
  const nc = request.nonceCount.toString(16).padStart(8, '0');
  let ha1 = h(`${credentials.username}:${realm}:${credentials.password}`);
  if (algorithm.session) ha1 = h(`${ha1}:${nonce}:${cnonce}`);
  const ha2 = h(qop === 'auth-int' ? `${request.method}:${request.uri}:${h(request.body)}` : `${request.method}:${request.uri}`);
  const response = qop === undefined ? h(`${ha1}:${nonce}:${ha2}`) : h(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
  const parts = [
    `username=${quote(credentials.username)}`,
    `realm=${quote(realm)}`,
    `nonce=${quote(nonce)}`,
    `uri=${quote(request.uri)}`,
    `response=${quote(response)}`,
    `algorithm=${algorithm.name}`,
  ];
  const opaque = challenge.params.get('opaque');
  if (opaque !== undefined) parts.push(`opaque=${quote(opaque)}`);
  if (qop !== undefined) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  return `Digest ${parts.join(', ')}`;
}
