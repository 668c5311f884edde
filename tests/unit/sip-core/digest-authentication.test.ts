import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseAuthChallenge, parseCSeq, parseNameAddr, parseVia, serializeSipMessage, SipSyntaxError, type SipRequest } from '../../../media-server/embedded/sip/message/index.js';
import {
  chooseDigestChallenge,
  digestAuthorization,
  SipFinalResponseError,
  SipUserAgent,
  type DigestCredentials,
} from '../../../media-server/embedded/sip/user-agent/index.js';
import { FakeClock } from './fake-clock.js';
import { flush, MemoryTransport } from './memory-wire.js';
import { responseTo, SDP_ANSWER, SDP_OFFER } from './sip-builders.js';

// Digest authentication of our outgoing INVITE (RFC 3261 §22, RFC 7616 for
// the hashes, RFC 8760 for SHA-256 in SIP): the challenge parser, the
// published test vectors, and the UAC answering a 401 or 407 once.

describe('WWW-Authenticate / Proxy-Authenticate values (RFC 3261 §25.1 challenge)', () => {
  it('reads the scheme and auth-params, unquoting and unescaping', () => {
    const challenge = parseAuthChallenge('Digest realm="pbx \\"A\\"", nonce="a,b", qop="auth,auth-int", algorithm=SHA-256 , stale=FALSE');
    expect(challenge.scheme).toBe('Digest');
    expect(Object.fromEntries(challenge.params)).toEqual({ realm: 'pbx "A"', nonce: 'a,b', qop: 'auth,auth-int', algorithm: 'SHA-256', stale: 'FALSE' });
  });

  it('refuses what is not a challenge', () => {
    expect(() => parseAuthChallenge('Digest realm')).toThrow(SipSyntaxError);
    expect(() => parseAuthChallenge('Digest realm="x" nonce="y"')).toThrow(SipSyntaxError);
    expect(() => parseAuthChallenge('Digest realm="x')).toThrow(SipSyntaxError);
  });

  it('chooses the strongest Digest challenge it can answer (RFC 8760 §2.4), skipping others', () => {
    const md5 = 'Digest realm="r", nonce="n1", qop="auth"';
    const sha256 = 'Digest realm="r", nonce="n2", qop="auth", algorithm=SHA-256';
    expect(chooseDigestChallenge([md5, sha256])?.params.get('nonce')).toBe('n2');
    expect(chooseDigestChallenge(['Basic realm="r"', 'Digest realm="r", nonce="n", algorithm=AKAv1-MD5', md5])?.params.get('nonce')).toBe('n1');
    // A -sess algorithm without qop has no cnonce to hash (RFC 7616 §3.4.2).
    expect(chooseDigestChallenge(['Digest realm="r", nonce="n", algorithm=MD5-sess'])).toBeUndefined();
    expect(chooseDigestChallenge(['Bearer realm="r"'])).toBeUndefined();
  });
});

describe('digest responses on the published test vectors', () => {
  const mufasa: DigestCredentials = { username: 'Mufasa', password: 'Circle of Life' };
  const rfc7616 = (algorithm: string) =>
    parseAuthChallenge(
      `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
    );
  const request = { method: 'GET', uri: '/dir/index.html', body: Buffer.alloc(0), nonceCount: 1, cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' };
  const responseOf = (header: string): string | undefined => parseAuthChallenge(header).params.get('response');

  it('RFC 7616 §3.9.1, MD5', () => {
    expect(responseOf(digestAuthorization(rfc7616('MD5'), mufasa, request))).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('RFC 7616 §3.9.1, SHA-256', () => {
    const header = digestAuthorization(rfc7616('SHA-256'), mufasa, request);
    expect(responseOf(header)).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    expect(Object.fromEntries(parseAuthChallenge(header).params)).toMatchObject({
      username: 'Mufasa',
      realm: 'http-auth@example.org',
      uri: '/dir/index.html',
      algorithm: 'SHA-256',
      qop: 'auth',
      nc: '00000001',
      opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
    });
  });

  it('RFC 2617 §3.5 (MD5, qop=auth)', () => {
    const challenge = parseAuthChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    const header = digestAuthorization(challenge, { username: 'Mufasa', password: 'Circle Of Life' }, { ...request, cnonce: '0a4f113b' });
    expect(responseOf(header)).toBe('6629fae49393a05397450978507c4ef1');
  });
});

const US = { protocol: 'udp', address: '127.0.0.1', port: 5070 } as const;
const PBX = { protocol: 'udp', address: '127.0.0.1', port: 5080 } as const;
const TARGET = 'sip:agent@127.0.0.1:5080';
const CREDENTIALS: DigestCredentials = { username: 'ivr', password: 'correct horse battery' };

async function caller(): Promise<{ ua: SipUserAgent; wire: MemoryTransport }> {
  const clock = new FakeClock();
  const wire = new MemoryTransport(US, clock);
  const ua = new SipUserAgent({ transport: wire, allow: { allows: () => true }, contactHost: '127.0.0.1', contactPort: 5070, clock, timers: { t1: 500, t2: 4_000, t4: 5_000 } });
  await ua.start();
  return { ua, wire };
}

function reply(wire: MemoryTransport, invite: SipRequest, status: number, extra: string[] = [], body?: string): void {
  const response = responseTo(invite, status, { toTag: 'pbx', extra, ...(body ? { body } : {}) });
  wire.inject(serializeSipMessage(response), PBX);
}

/** The MD5 qop=auth response, computed here from RFC 2617 §3.2.2.1 independently of the code under test. */
function expectedMd5(params: ReadonlyMap<string, string>, password: string): string {
  const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
  const ha1 = md5(`${params.get('username')}:${params.get('realm')}:${password}`);
  const ha2 = md5(`INVITE:${params.get('uri')}`);
  return md5(`${ha1}:${params.get('nonce')}:${params.get('nc')}:${params.get('cnonce')}:auth:${ha2}`);
}

describe('the UAC answers a challenge to its INVITE (RFC 3261 §22.2, §22.3)', () => {
  for (const [status, challengeHeader, answerHeader] of [
    [401, 'WWW-Authenticate', 'Authorization'],
    [407, 'Proxy-Authenticate', 'Proxy-Authorization'],
  ] as const) {
    it(`${status}: the INVITE again with ${answerHeader}, CSeq 2, same Call-ID and From tag, new branch; the ACK repeats the credentials`, async () => {
      const { ua, wire } = await caller();
      const outgoing = ua.invite(TARGET, { sdp: SDP_OFFER, credentials: CREDENTIALS });
      await flush();
      const first = wire.requests('INVITE')[0]!.message;
      reply(wire, first, status, [`${challengeHeader}: Digest realm="pbx.example", nonce="abc123", qop="auth", opaque="op"`]);
      await flush();
      const invites = wire.requests('INVITE').map((r) => r.message);
      expect(invites).toHaveLength(2);
      const second = invites[1]!;
      expect(parseCSeq(second.headers.get('CSeq') as string)).toEqual({ seq: 2, method: 'INVITE' });
      expect(second.headers.get('Call-ID')).toBe(first.headers.get('Call-ID'));
      expect(parseNameAddr(second.headers.get('From') as string).params.get('tag')).toBe(parseNameAddr(first.headers.get('From') as string).params.get('tag'));
      expect(parseVia(second.headers.get('Via') as string).params.get('branch')).not.toBe(parseVia(first.headers.get('Via') as string).params.get('branch'));
      expect(second.headers.get(status === 401 ? 'Proxy-Authorization' : 'Authorization')).toBeUndefined();
      const answer = parseAuthChallenge(second.headers.get(answerHeader) as string);
      expect(Object.fromEntries(answer.params)).toMatchObject({ username: 'ivr', realm: 'pbx.example', nonce: 'abc123', uri: TARGET, qop: 'auth', nc: '00000001', opaque: 'op' });
      expect(answer.params.get('response')).toBe(expectedMd5(answer.params, CREDENTIALS.password));
      // The transaction ACKed the challenge with the first INVITE's CSeq (§17.1.1.3).
      expect(wire.requests('ACK').map((r) => r.message.headers.get('CSeq'))).toEqual(['1 ACK']);

      reply(wire, second, 200, ['Contact: <sip:agent@127.0.0.1:5080>'], SDP_ANSWER);
      const dialog = await outgoing.dialog;
      await flush();
      const ack = wire.requests('ACK')[1]!.message;
      expect(ack.headers.get('CSeq')).toBe('2 ACK');
      expect(ack.headers.get(answerHeader)).toBe(second.headers.get(answerHeader));
      expect(dialog.localSeq).toBe(2);
    });
  }

  it('answers once: a second challenge (wrong credentials) settles the INVITE with it', async () => {
    const { ua, wire } = await caller();
    const outgoing = ua.invite(TARGET, { sdp: SDP_OFFER, credentials: { username: 'ivr', password: 'wrong' } });
    await flush();
    reply(wire, wire.requests('INVITE')[0]!.message, 401, ['WWW-Authenticate: Digest realm="pbx.example", nonce="n1"']);
    await flush();
    reply(wire, wire.requests('INVITE')[1]!.message, 401, ['WWW-Authenticate: Digest realm="pbx.example", nonce="n2"']);
    await expect(outgoing.dialog).rejects.toBeInstanceOf(SipFinalResponseError);
    await expect(outgoing.dialog).rejects.toMatchObject({ status: 401 });
    expect(wire.requests('INVITE')).toHaveLength(2);
  });

  it('without credentials, or with a challenge it cannot answer, a 401 settles the INVITE at once', async () => {
    const { ua, wire } = await caller();
    const bare = ua.invite(TARGET, { sdp: SDP_OFFER });
    await flush();
    reply(wire, wire.requests('INVITE')[0]!.message, 401, ['WWW-Authenticate: Digest realm="r", nonce="n"']);
    await expect(bare.dialog).rejects.toMatchObject({ status: 401 });
    const aka = ua.invite(TARGET, { sdp: SDP_OFFER, credentials: CREDENTIALS });
    await flush();
    reply(wire, wire.requests('INVITE')[1]!.message, 407, ['Proxy-Authenticate: Digest realm="r", nonce="n", algorithm=AKAv1-MD5']);
    await expect(aka.dialog).rejects.toMatchObject({ status: 407 });
    expect(wire.requests('INVITE')).toHaveLength(2);
  });

  it('never puts the password on the wire', async () => {
    const { ua, wire } = await caller();
    ua.invite(TARGET, { sdp: SDP_OFFER, credentials: CREDENTIALS });
    await flush();
    reply(wire, wire.requests('INVITE')[0]!.message, 401, ['WWW-Authenticate: Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"']);
    await flush();
    expect(wire.sent.some((r) => r.bytes.toString('latin1').includes(CREDENTIALS.password))).toBe(false);
    expect(parseAuthChallenge(wire.requests('INVITE')[1]!.message.headers.get('Authorization') as string).params.get('response')).toMatch(/^[0-9a-f]{64}$/);
  });
});
