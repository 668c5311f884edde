import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SECRET_SETTINGS } from '../../../app/config.js';

const dir = mkdtempSync(join(tmpdir(), 'config-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.DATA_DIR).toBe('./data');
    expect(c.HTTP_HOST).toBe('127.0.0.1');
    expect(c.HTTP_PORT).toBe(8080);
    expect([...c.ACCEPTED_BRANDS]).toEqual(['visa', 'mastercard', 'amex']);
    expect(c.VAULT_KEY).toBeUndefined();
    expect(c.AUDIT_KEY).toBeUndefined();
    expect(c.LANGUAGE).toBe('fr-FR');
    expect(c.CONFIRM_AMOUNT).toBe(false);
    expect(c.PROMPTS_DIR).toBeUndefined();
  });

  it('takes PROMPTS_DIR as a path; empty (as compose passes it unset) means the shipped recordings', () => {
    expect(loadConfig({ PROMPTS_DIR: '/srv/prompts' }).PROMPTS_DIR).toBe('/srv/prompts');
    expect(loadConfig({ PROMPTS_DIR: '' }).PROMPTS_DIR).toBeUndefined();
  });

  it('reads and converts the environment', () => {
    const c = loadConfig({ HTTP_PORT: '9090', ACCEPTED_BRANDS: 'Visa, maestro', CONFIRM_CARD: 'on', VAULT_KEY: 'ab'.repeat(32) });
    expect(c.HTTP_PORT).toBe(9090);
    expect([...c.ACCEPTED_BRANDS]).toEqual(['visa', 'maestro']);
    expect(c.CONFIRM_CARD).toBe(true);
    expect(c.VAULT_KEY?.length).toBe(32);
  });

  it('names the bad setting in one line', () => {
    const err = errorOf({ HTTP_PORT: 'eighty' });
    expect(errorOf({ HTTP_PORT: '70000' }).setting).toBe('HTTP_PORT');
    expect(err.setting).toBe('HTTP_PORT');
    expect(err.message).toMatch(/^config: HTTP_PORT: .*"eighty"/);
    expect(err.message).not.toContain('\n');
    expect(errorOf({ ACCEPTED_BRANDS: 'visa,diners-club' }).message).toContain('diners-club');
    expect(errorOf({ LANGUAGE: 'de-DE' }).message).toMatch(/LANGUAGE: expected one of fr-FR, en-GB/);
    expect(errorOf({ ORDER_LOOKUP: 'http' }).setting).toBe('ORDER_LOOKUP_URL');
  });

  it('the store: SQLite by default, PostgreSQL with its DATABASE_URL', () => {
    expect(loadConfig({}).STORE).toBe('sqlite');
    expect(loadConfig({}).DATABASE_URL).toBeUndefined();
    expect(loadConfig({ STORE: 'postgres', DATABASE_URL: 'postgres://ivr@db:5432/payments' })).toMatchObject({ STORE: 'postgres' });
    expect(errorOf({ STORE: 'postgres' }).setting).toBe('DATABASE_URL');
    expect(errorOf({ STORE: 'postgres', DATABASE_URL: 'mysql://db/payments' }).setting).toBe('DATABASE_URL');
    expect(errorOf({ STORE: 'mongo' }).setting).toBe('STORE');
  });

  it('SIP transport caps: defaults, overrides, and the bad one named', () => {
    expect(loadConfig({})).toMatchObject({
      SIP_UDP_MAX_MESSAGE_BYTES: 65_507,
      SIP_TCP_MAX_CONNECTIONS: 1024,
      SIP_TCP_MAX_CONNECTIONS_PER_SOURCE: 256,
      SIP_TCP_IDLE_TIMEOUT_MS: 120_000,
    });
    expect(loadConfig({ SIP_UDP_MAX_MESSAGE_BYTES: '8000', SIP_TCP_MAX_CONNECTIONS: '64', SIP_TCP_MAX_CONNECTIONS_PER_SOURCE: '8', SIP_TCP_IDLE_TIMEOUT_MS: '5000' })).toMatchObject({
      SIP_UDP_MAX_MESSAGE_BYTES: 8000,
      SIP_TCP_MAX_CONNECTIONS: 64,
      SIP_TCP_MAX_CONNECTIONS_PER_SOURCE: 8,
      SIP_TCP_IDLE_TIMEOUT_MS: 5000,
    });
    // A datagram cap above what UDP over IPv4 carries, or below a SIP INVITE with SDP, is a mistake.
    expect(errorOf({ SIP_UDP_MAX_MESSAGE_BYTES: '70000' }).setting).toBe('SIP_UDP_MAX_MESSAGE_BYTES');
    expect(errorOf({ SIP_UDP_MAX_MESSAGE_BYTES: '500' }).setting).toBe('SIP_UDP_MAX_MESSAGE_BYTES');
    expect(errorOf({ SIP_TCP_MAX_CONNECTIONS: '0' }).setting).toBe('SIP_TCP_MAX_CONNECTIONS');
    expect(errorOf({ SIP_TCP_IDLE_TIMEOUT_MS: 'soon' }).setting).toBe('SIP_TCP_IDLE_TIMEOUT_MS');
  });

  it('SIP over TLS: port 5061 by default, certificate and key together, a private CA optional', () => {
    const defaults = loadConfig({});
    expect(defaults.SIP_TLS_PORT).toBe(5061);
    expect([defaults.SIP_TLS_CERT, defaults.SIP_TLS_KEY, defaults.SIP_TLS_CA]).toEqual([undefined, undefined, undefined]);
    expect(loadConfig({ SIP_TLS_CERT: '/tls/sip.pem', SIP_TLS_KEY: '/tls/sip.key', SIP_TLS_PORT: '5071', SIP_TLS_CA: '/tls/ca.pem' })).toMatchObject({
      SIP_TLS_PORT: 5071,
      SIP_TLS_CA: '/tls/ca.pem',
    });
    expect(errorOf({ SIP_TLS_CERT: '/tls/sip.pem' }).setting).toBe('SIP_TLS_KEY');
    expect(errorOf({ SIP_TLS_KEY: '/tls/sip.key' }).setting).toBe('SIP_TLS_CERT');
  });

  it('SRTP: off by default; optional or mandatory, mandatory only with a SIP TLS listener', () => {
    expect(loadConfig({}).SRTP).toBe('off');
    expect(loadConfig({ SRTP: 'optional' }).SRTP).toBe('optional');
    expect(loadConfig({ SRTP: 'mandatory', SIP_TLS_CERT: '/tls/sip.pem', SIP_TLS_KEY: '/tls/sip.key' }).SRTP).toBe('mandatory');
    expect(errorOf({ SRTP: 'mandatory' }).setting).toBe('SRTP');
    expect(errorOf({ SRTP: 'on' }).setting).toBe('SRTP');
  });

  it('SIP_OUTBOUND_AUTH: a JSON map of target to Digest credentials, a secret never printed', () => {
    const map = { 'pbx.example': { username: 'ivr', password: 'pw-s3cr3t' }, '10.0.0.5:5070': { username: 'cc', password: 'other-s3cr3t' } };
    expect(loadConfig({ SIP_OUTBOUND_AUTH: JSON.stringify(map) }).SIP_OUTBOUND_AUTH).toEqual(map);
    for (const bad of ['{"pbx.example": {"username": "ivr", "passwd": "pw-s3cr3t"}}', 'pw-s3cr3t', '["pw-s3cr3t"]']) {
      const err = errorOf({ SIP_OUTBOUND_AUTH: bad });
      expect(err.setting).toMatch(/^SIP_OUTBOUND_AUTH/);
      expect(err.message).not.toContain('s3cr3t');
    }
    expect(SECRET_SETTINGS.has('SIP_OUTBOUND_AUTH')).toBe(true);
  });

  it('SIP_AUTH_USERS: a JSON map of username to HA1 hex per algorithm (SHA-256, MD5), a secret; SIP_AUTH_REALM defaults', () => {
    const users = { 'pbx-paris': { 'SHA-256': 'ab'.repeat(32), 'MD5': 'cd'.repeat(16) }, 'pbx-lyon': { 'MD5': 'ef'.repeat(16) } };
    const config = loadConfig({ SIP_AUTH_USERS: JSON.stringify(users) });
    expect(config.SIP_AUTH_USERS).toEqual(users);
    expect(config.SIP_AUTH_REALM).toBe('payment-ivr');
    expect(loadConfig({}).SIP_AUTH_USERS).toBeUndefined();
    for (const bad of ['{"u": {}}', '{"u": {"MD5": "s3cr3t"}}', '{"u": {"password": "s3cr3t"}}', '{"a b": {"MD5": "' + 'ab'.repeat(16) + '"}}', 's3cr3t']) {
      const err = errorOf({ SIP_AUTH_USERS: bad });
      expect(err.setting).toMatch(/^SIP_AUTH_USERS/);
      expect(err.message).not.toContain('s3cr3t');
    }
    expect(errorOf({ SIP_AUTH_REALM: 'a"b' }).setting).toBe('SIP_AUTH_REALM');
    expect(SECRET_SETTINGS.has('SIP_AUTH_USERS')).toBe(true);
    expect(errorOf({ SIP_AUTH_USERS: JSON.stringify(users), MEDIA_SERVER: 'freeswitch', DRACHTIO_SECRET: 'd'.repeat(20), FREESWITCH_SECRET: 'f'.repeat(20) }).setting).toBe('SIP_AUTH_USERS');
  });

  it('AUDIT_KEY: at least 32 bytes, as hex or base64, a secret never printed', () => {
    const hex = 'c0ffee'.repeat(11);
    expect(loadConfig({ AUDIT_KEY: hex }).AUDIT_KEY).toEqual(Buffer.from(hex, 'hex'));
    const base64 = Buffer.alloc(48, 7).toString('base64');
    expect(loadConfig({ AUDIT_KEY: base64 }).AUDIT_KEY).toEqual(Buffer.alloc(48, 7));
    for (const short of ['ab'.repeat(31), Buffer.alloc(31, 1).toString('base64'), 'sh0rt-s3cr3t']) {
      const err = errorOf({ AUDIT_KEY: short });
      expect(err.setting).toBe('AUDIT_KEY');
      expect(err.message).toMatch(/at least 32 bytes/);
      expect(err.message).not.toContain(short);
    }
    expect(SECRET_SETTINGS.has('AUDIT_KEY')).toBe(true);
  });

  it('never prints a secret, even when it is wrong', () => {
    const err = errorOf({ VAULT_KEY: 'not-a-key-s3cr3t' });
    expect(err.setting).toBe('VAULT_KEY');
    expect(err.message).not.toContain('s3cr3t');
  });

  it('PSP=stripe and PSP=adyen need their credentials, point anywhere, and never print a key', () => {
    expect(loadConfig({}).PSP).toBe('sandbox');
    expect(errorOf({ PSP: 'stripe' }).setting).toBe('STRIPE_SECRET_KEY');
    expect(errorOf({ PSP: 'adyen', ADYEN_API_KEY: 'k' }).setting).toBe('ADYEN_MERCHANT_ACCOUNT');
    expect(errorOf({ PSP: 'paypal' }).message).toMatch(/PSP: expected one of sandbox, stripe, adyen/);
    const stripe = loadConfig({ PSP: 'stripe', STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_API_BASE: 'http://127.0.0.1:4010', PSP_CAPTURE: 'manual' });
    expect(stripe).toMatchObject({ STRIPE_API_BASE: 'http://127.0.0.1:4010', PSP_CAPTURE: 'manual' });
    expect(loadConfig({}).STRIPE_API_BASE).toBe('https://api.stripe.com');
    expect(loadConfig({}).ADYEN_API_BASE).toBe('https://checkout-test.adyen.com/v71');
    const bad = errorOf({ PSP: 'stripe', STRIPE_SECRET_KEY: 'pk_live_s3cr3t' });
    expect(bad.setting).toBe('STRIPE_SECRET_KEY');
    expect(bad.message).not.toContain('s3cr3t');
    expect(errorOf({ ADYEN_HMAC_KEY: 'zz-s3cr3t' }).message).not.toContain('s3cr3t');
  });

  it("SMS delivery callbacks: each provider's URL on its own path, Vonage's signature secret never printed", () => {
    expect(loadConfig({ TWILIO_STATUS_CALLBACK_URL: 'https://ivr.example/sms/twilio/status' }).TWILIO_STATUS_CALLBACK_URL).toBe('https://ivr.example/sms/twilio/status');
    // Behind a reverse proxy's prefix.
    expect(loadConfig({ TWILIO_STATUS_CALLBACK_URL: 'https://example.com/ivr/sms/twilio/status' }).TWILIO_STATUS_CALLBACK_URL).toMatch(/ivr\/sms/);
    expect(errorOf({ TWILIO_STATUS_CALLBACK_URL: 'https://ivr.example/twilio' }).message).toMatch(/TWILIO_STATUS_CALLBACK_URL: its path must end in \/sms\/twilio\/status/);
    expect(errorOf({ VONAGE_STATUS_CALLBACK_URL: 'https://ivr.example/dlr' }).setting).toBe('VONAGE_STATUS_CALLBACK_URL');
    expect(loadConfig({}).VONAGE_SIGNATURE_METHOD).toBe('sha256');
    expect(errorOf({ VONAGE_SIGNATURE_METHOD: 'md5hash' }).setting).toBe('VONAGE_SIGNATURE_METHOD');
    expect(errorOf({ VONAGE_SIGNATURE_SECRET: 's3cr3t' }).message).not.toContain('s3cr3t');
  });

  it('reads a JSON file named by CONFIG_FILE, with the environment winning', () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ HTTP_PORT: 7000, LANGUAGE: 'en-GB', CONFIRM_CARD: true }));
    const c = loadConfig({ CONFIG_FILE: file, LANGUAGE: 'fr-FR' });
    expect(c.HTTP_PORT).toBe(7000);
    expect(c.LANGUAGE).toBe('fr-FR');
    expect(c.CONFIRM_CARD).toBe(true);
  });

  it('refuses an unknown key or bad JSON in the file', () => {
    const file = join(dir, 'typo.json');
    writeFileSync(file, JSON.stringify({ HTTP_PROT: 7000 }));
    expect(errorOf({ CONFIG_FILE: file }).message).toContain('HTTP_PROT');
    writeFileSync(file, '{');
    expect(errorOf({ CONFIG_FILE: file }).setting).toBe('CONFIG_FILE');
  });
});

const DRACHTIO_SECRET = 'drachtio-secret-0123456789';
const FREESWITCH_SECRET = 'freeswitch-secret-0123456789';

describe('config: MEDIA_SERVER=freeswitch', () => {
  it('defaults to the embedded media server and documents the drachtio and FreeSWITCH defaults', () => {
    const c = loadConfig({});
    expect(c.MEDIA_SERVER).toBe('embedded');
    expect([c.DRACHTIO_HOST, c.DRACHTIO_PORT, c.FREESWITCH_HOST, c.FREESWITCH_PORT]).toEqual(['127.0.0.1', 9022, '127.0.0.1', 8021]);
    expect([c.FREESWITCH_LISTEN_HOST, c.FREESWITCH_LISTEN_PORT, c.FREESWITCH_ADVERTISED_HOST]).toEqual(['127.0.0.1', 8085, undefined]);
    expect(c.MEDIA_SERVER_CONNECT_TIMEOUT_MS).toBe(5000);
  });

  it('reads every setting', () => {
    const c = loadConfig({
      MEDIA_SERVER: 'freeswitch',
      DRACHTIO_HOST: 'drachtio',
      DRACHTIO_PORT: '9023',
      DRACHTIO_SECRET,
      FREESWITCH_HOST: 'freeswitch',
      FREESWITCH_PORT: '8022',
      FREESWITCH_SECRET,
      FREESWITCH_LISTEN_HOST: '0.0.0.0',
      FREESWITCH_LISTEN_PORT: '8086',
      FREESWITCH_ADVERTISED_HOST: '172.28.0.12',
      MEDIA_SERVER_CONNECT_TIMEOUT_MS: '2000',
    });
    expect(c).toMatchObject({ MEDIA_SERVER: 'freeswitch', DRACHTIO_PORT: 9023, FREESWITCH_PORT: 8022, FREESWITCH_LISTEN_PORT: 8086, FREESWITCH_ADVERTISED_HOST: '172.28.0.12', MEDIA_SERVER_CONNECT_TIMEOUT_MS: 2000 });
  });

  it('requires both secrets with MEDIA_SERVER=freeswitch', () => {
    expect(errorOf({ MEDIA_SERVER: 'freeswitch', FREESWITCH_SECRET }).setting).toBe('DRACHTIO_SECRET');
    expect(errorOf({ MEDIA_SERVER: 'freeswitch', DRACHTIO_SECRET }).setting).toBe('FREESWITCH_SECRET');
  });

  it('refuses the stock defaults and never prints a secret', () => {
    const drachtio = errorOf({ MEDIA_SERVER: 'freeswitch', DRACHTIO_SECRET: 'cymru', FREESWITCH_SECRET });
    expect(drachtio.setting).toBe('DRACHTIO_SECRET');
    expect(drachtio.message).not.toContain('cymru');
    const freeswitch = errorOf({ MEDIA_SERVER: 'freeswitch', DRACHTIO_SECRET, FREESWITCH_SECRET: 'ClueCon' });
    expect(freeswitch.setting).toBe('FREESWITCH_SECRET');
    expect(freeswitch.message).not.toContain('ClueCon');
    expect(SECRET_SETTINGS.has('DRACHTIO_SECRET') && SECRET_SETTINGS.has('FREESWITCH_SECRET')).toBe(true);
  });

  it('names an unknown media server', () => {
    expect(errorOf({ MEDIA_SERVER: 'asterisk' }).message).toMatch(/MEDIA_SERVER: expected one of embedded, freeswitch/);
  });
});
