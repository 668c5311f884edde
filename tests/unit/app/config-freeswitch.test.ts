import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SECRET_SETTINGS } from '../../../ivr/app/config.js';

const DRACHTIO_SECRET = 'drachtio-secret-0123456789';
const FREESWITCH_SECRET = 'freeswitch-secret-0123456789';

function errorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

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
