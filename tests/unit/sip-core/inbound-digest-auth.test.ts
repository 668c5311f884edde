import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../../agent-bridge/identity/login-throttle.js';
import { parseAuthChallenge } from '../../../media-server/embedded/sip/message/index.js';
import {
  InboundDigestAuth,
  SipFinalResponseError,
  type InviteSession,
} from '../../../media-server/embedded/sip/user-agent/index.js';
import { SDP_ANSWER, SDP_OFFER } from './sip-builders.js';
import { uaPair } from './ua-harness.js';

// Digest authentication of INVITEs from outside SIP_ALLOW (SIP_AUTH_USERS):
// RFC 3261 §22.2, RFC 7616 §3.4 for the response, RFC 8760 for SHA-256; the
// lock-out is the console's LoginThrottle (5 failures per user, 50 per
// source, 15 minutes). Expected responses are computed here, independently.

const REALM = 'payment-ivr';
const USER = 'pbx-paris';
const PASSWORD = 'a long test passphrase';
const URI = 'sip:pay@127.0.0.1:5080';
const OUTSIDER = '192.0.2.10';
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
/** SIP_AUTH_USERS as an operator writes it: the HA1 of each algorithm, never the password. */
const USERS = { [USER]: { 'SHA-256': sha256(`${USER}:${REALM}:${PASSWORD}`), 'MD5': md5(`${USER}:${REALM}:${PASSWORD}`) } };

function setup() {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock = (): number => now;
  const auth = new InboundDigestAuth({ realm: REALM, users: USERS, throttle: new LoginThrottle({ now: clock }), now: clock });
  return { auth, advance: (ms: number) => (now += ms) };
}

/** An Authorization answering `challenge` (one of `challenges()`), computed by RFC 7616 §3.4.1. */
function answer(challenge: string, options: { password?: string; nc?: number; uri?: string; username?: string } = {}): string {
  const p = parseAuthChallenge(challenge).params;
  const algorithm = p.get('algorithm') as 'SHA-256' | 'MD5';
  const h = algorithm === 'MD5' ? md5 : sha256;
  const username = options.username ?? USER;
  const uri = options.uri ?? URI;
  const nc = (options.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = 'c0ffee';
  const response = h(`${h(`${username}:${REALM}:${options.password ?? PASSWORD}`)}:${p.get('nonce')}:${nc}:${cnonce}:auth:${h(`INVITE:${uri}`)}`);
  return `Digest username="${username}", realm="${REALM}", nonce="${p.get('nonce')}", uri="${uri}", response="${response}", algorithm=${algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}

const invite = (authorization: string | undefined) => ({ method: 'INVITE', uri: URI, authorization });

describe('InboundDigestAuth', () => {
  it('challenges with SHA-256 then MD5 (RFC 8760 §2.4: preference order), qop=auth, one nonce', () => {
    const { auth } = setup();
    const [first, second] = auth.challenges(OUTSIDER).map((c) => parseAuthChallenge(c).params);
    expect(first?.get('algorithm')).toBe('SHA-256');
    expect(second?.get('algorithm')).toBe('MD5');
    expect(first?.get('realm')).toBe(REALM);
    expect(first?.get('qop')).toBe('auth');
    expect(first?.get('nonce')).toBe(second?.get('nonce'));
    expect(auth.check(invite(undefined), OUTSIDER)).toEqual({ kind: 'challenge', stale: false });
  });

  it('offers only the algorithms some user has an HA1 for', () => {
    const md5Only = new InboundDigestAuth({ realm: REALM, users: { [USER]: { MD5: USERS[USER].MD5 } }, throttle: new LoginThrottle() });
    expect(md5Only.challenges(OUTSIDER).map((c) => parseAuthChallenge(c).params.get('algorithm'))).toEqual(['MD5']);
  });

  it.each([0, 1])('takes the right answer to challenge %i (SHA-256, MD5), from the HA1 only', (index) => {
    const { auth } = setup();
    const challenge = auth.challenges(OUTSIDER)[index]!;
    expect(auth.check(invite(answer(challenge)), OUTSIDER)).toEqual({ kind: 'authenticated', username: USER });
  });

  it('refuses a wrong password, an unknown user, a digest-uri that is no SIP URI, a nonce given to another address, a replay', () => {
    const { auth } = setup();
    const [challenge] = auth.challenges(OUTSIDER);
    expect(auth.check(invite(answer(challenge!, { password: 'wrong' })), OUTSIDER)).toMatchObject({ kind: 'challenge', failure: 'wrong-response', username: USER });
    expect(auth.check(invite(answer(challenge!, { username: 'nobody' })), OUTSIDER)).toMatchObject({ kind: 'challenge', failure: 'unknown-user' });
    expect(auth.check(invite(answer(challenge!, { uri: '/pay' })), OUTSIDER)).toMatchObject({ kind: 'challenge', failure: 'malformed' });
    expect(auth.check(invite(answer(auth.challenges('192.0.2.99')[0]!)), OUTSIDER)).toMatchObject({ kind: 'challenge', failure: 'bad-nonce' });
    expect(auth.check(invite('Digest garbage'), OUTSIDER)).toMatchObject({ kind: 'challenge', failure: 'malformed' });
    const good = answer(challenge!);
    expect(auth.check(invite(good), OUTSIDER)).toMatchObject({ kind: 'authenticated' });
    // RFC 7616 §3.4: the same nonce again needs a higher nc.
    expect(auth.check(invite(good), OUTSIDER)).toMatchObject({ kind: 'challenge', failure: 'replayed' });
    expect(auth.check(invite(answer(challenge!, { nc: 2 })), OUTSIDER)).toMatchObject({ kind: 'authenticated' });
    // SIPp 3.6.1 names the remote address as digest-uri: taken, the response covering it.
    expect(auth.check(invite(answer(challenge!, { nc: 3, uri: 'sip:127.0.0.1:5080' })), OUTSIDER)).toMatchObject({ kind: 'authenticated' });
  });

  it('a nonce past its 5 minutes: right credentials get a new challenge marked stale, not a failure', () => {
    const { auth, advance } = setup();
    const [challenge] = auth.challenges(OUTSIDER);
    advance(5 * 60_000 + 1);
    expect(auth.check(invite(answer(challenge!)), OUTSIDER)).toEqual({ kind: 'challenge', stale: true, username: USER });
    expect(auth.challenges(OUTSIDER, true)[0]).toContain('stale=true');
    expect(auth.check(invite(answer(auth.challenges(OUTSIDER)[0]!)), OUTSIDER)).toMatchObject({ kind: 'authenticated' });
  });

  it('locks a user out after 5 failures, as failed logins do (PCI DSS 4.0 req. 8.3.4): even the right password, until the 15 minutes pass', () => {
    const { auth, advance } = setup();
    const [challenge] = auth.challenges(OUTSIDER);
    const verdicts = [1, 2, 3, 4, 5].map(() => auth.check(invite(answer(challenge!, { password: 'guess' })), OUTSIDER).kind);
    expect(verdicts).toEqual(['challenge', 'challenge', 'challenge', 'challenge', 'locked-out']);
    expect(auth.check(invite(answer(challenge!)), OUTSIDER)).toMatchObject({ kind: 'locked-out', username: USER });
    advance(15 * 60_000 + 1);
    expect(auth.check(invite(answer(auth.challenges(OUTSIDER)[0]!)), OUTSIDER)).toMatchObject({ kind: 'authenticated' });
  });

  it('locks a source out after 50 failures over any usernames: then its INVITEs are refused without a challenge', () => {
    const { auth } = setup();
    const [challenge] = auth.challenges(OUTSIDER);
    for (let i = 0; i < 50; i++) auth.check(invite(answer(challenge!, { username: `user${i}` })), OUTSIDER);
    expect(auth.check(invite(undefined), OUTSIDER)).toMatchObject({ kind: 'locked-out' });
    expect(auth.check(invite(undefined), '192.0.2.11')).toEqual({ kind: 'challenge', stale: false });
  });
});

describe('SipUserAgent with SIP_AUTH_USERS: INVITEs from outside SIP_ALLOW are challenged', () => {
  async function pair() {
    const { auth } = setup();
    // Nothing is inside SIP_ALLOW for b: every request from a is an outsider's.
    return uaPair({ called: { allow: { allows: () => false }, inboundAuth: auth } });
  }

  it('our own UAC answers the 401 with credentials; the call is served, its ACK and BYE too; counted', async () => {
    const p = await pair();
    let accepted!: Promise<InviteSession>;
    p.b.on('invite', (inv) => (accepted = inv.accept({ sdp: SDP_ANSWER })));
    const uac = await p.a.invite(URI, { sdp: SDP_OFFER, credentials: { username: USER, password: PASSWORD } }).dialog;
    const uas = await accepted;
    const statuses = p.wireB.sent.filter((r) => r.message.kind === 'response').map((r) => (r.message.kind === 'response' ? r.message.status : 0));
    expect(statuses).toContain(401);
    const challenged = p.wireB.sent.find((r) => r.message.kind === 'response' && r.message.status === 401)!;
    expect(challenged.message.headers.getAll('WWW-Authenticate').map((v) => parseAuthChallenge(v).params.get('algorithm'))).toEqual(['SHA-256', 'MD5']);
    const ended = new Promise((resolve) => uas.once('ended', resolve));
    await uac.bye();
    await ended;
    expect(p.b.counters).toMatchObject({ challenged: 1, authenticated: 1, authFailures: 0, forbidden: 0 });
  });

  it('wrong credentials: challenged again, the call refused with 401; without credentials the same', async () => {
    const p = await pair();
    p.b.on('invite', (inv) => void inv.accept({ sdp: SDP_ANSWER }));
    const wrong = p.a.invite(URI, { sdp: SDP_OFFER, credentials: { username: USER, password: 'wrong' } }).dialog;
    await expect(wrong).rejects.toBeInstanceOf(SipFinalResponseError);
    await expect(wrong).rejects.toMatchObject({ status: 401 });
    const none = p.a.invite(URI, { sdp: SDP_OFFER }).dialog;
    await expect(none).rejects.toMatchObject({ status: 401 });
    expect(p.b.counters).toMatchObject({ challenged: 3, authenticated: 0, authFailures: 1 });
  });

  it('other requests from an outsider outside any call still get 403', async () => {
    const p = await pair();
    p.wireB.inject(
      ['OPTIONS sip:pay@127.0.0.1:5080 SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-o', 'From: <sip:x@192.0.2.10>;tag=1', 'To: <sip:pay@127.0.0.1>', 'Call-ID: o1', 'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n'),
      { protocol: 'udp', address: OUTSIDER, port: 5060 },
    );
    await new Promise((r) => setTimeout(r, 10));
    const last = p.wireB.sent.at(-1);
    expect(last?.message.kind === 'response' && last.message.status).toBe(403);
  });
});
