import { readFileSync } from 'node:fs';
import type { SipTlsOptions } from '../media-server/embedded/sip/transport/sip-transport.js';
import type { Config } from './config.js';

/**
 * SIP over TLS from SIP_TLS_CERT, SIP_TLS_KEY, SIP_TLS_PORT and SIP_TLS_CA
 * (PEM files read at start): the listener when a certificate is set, and
 * the private CA outgoing TLS trusts.
 */
export function sipTlsOptions(config: Pick<Config, 'SIP_TLS_CERT' | 'SIP_TLS_KEY' | 'SIP_TLS_PORT' | 'SIP_TLS_CA'>): SipTlsOptions {
  return {
    port: config.SIP_TLS_PORT,
    ...(config.SIP_TLS_CERT === undefined ? {} : { cert: readFileSync(config.SIP_TLS_CERT) }),
    ...(config.SIP_TLS_KEY === undefined ? {} : { key: readFileSync(config.SIP_TLS_KEY) }),
    ...(config.SIP_TLS_CA === undefined ? {} : { ca: readFileSync(config.SIP_TLS_CA) }),
  };
}
