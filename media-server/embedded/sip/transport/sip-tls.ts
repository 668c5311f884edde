import { isIP } from 'node:net';
import { connect, createSecureContext, rootCertificates, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';

/**
 * SIP over TLS (RFC 3261 §26.2.1, RFC 5630): our certificate, and whom we
 * trust when we connect out. Without a certificate there is no listener,
 * but calls out over TLS still work.
 */
export interface SipTlsOptions {
  /** The TLS listener's port (SIP_TLS_PORT). 0 picks a free port (tests). Default 5061. */
  readonly port?: number | undefined;
  /** PEM certificate chain, presented to callers and, when we connect out, to peers that ask for one. */
  readonly cert?: Buffer | string | undefined;
  /** PEM private key of `cert`. */
  readonly key?: Buffer | string | undefined;
  /**
   * PEM certificates of a private CA (SIP_TLS_CA), trusted on outgoing
   * connections on top of Node's bundled roots. Default: the bundled roots only.
   */
  readonly ca?: Buffer | string | undefined;
}

/** RFC 3261 §26.3.1 asks for TLS; RFC 8996 retires 1.0 and 1.1. */
const MIN_VERSION = 'TLSv1.2';

/** An outgoing TLS connection failed: refused, or the peer's certificate did not verify (`code` says why). */
export class SipTlsConnectError extends Error {
  override readonly name = 'SipTlsConnectError';
  /** OpenSSL's or Node's code, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ERR_TLS_CERT_ALTNAME_INVALID`, `ECONNREFUSED`. */
  readonly code: string | undefined;

  constructor(host: string, port: number, cause: unknown) {
    const code = (cause as { code?: string } | undefined)?.code;
    super(`TLS to ${host}:${port} failed${code ? ` (${code})` : ''}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.code = code;
  }
}

/** The listener's context, made once (every accepted connection shares it); undefined without a certificate. */
export function serverTlsContext(options: SipTlsOptions | undefined): SecureContext | undefined {
  if (options?.cert === undefined || options.key === undefined) return undefined;
  return createSecureContext({ cert: options.cert, key: options.key, minVersion: MIN_VERSION });
}

/**
 * Opens a TLS connection and resolves once the handshake is done and the
 * peer's certificate verified against the bundled roots plus `ca`, with its
 * name checked against the host we dialled (RFC 5922 §7.2; Node checks
 * subjectAltName, an IP address against an IP SAN). Rejects with
 * `SipTlsConnectError`.
 */
export function connectTls(host: string, port: number, options: SipTlsOptions | undefined): Promise<TLSSocket> {
  const tlsOptions: ConnectionOptions = {
    host,
    port,
    minVersion: MIN_VERSION,
    rejectUnauthorized: true,
    // SNI carries names only (RFC 6066 §3).
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(options?.ca ? { ca: [...rootCertificates, options.ca.toString()] } : {}),
    ...(options?.cert !== undefined && options.key !== undefined ? { cert: options.cert, key: options.key } : {}),
  };
  return new Promise((resolve, reject) => {
    const socket = connect(tlsOptions, () => {
      socket.off('error', fail);
      resolve(socket);
    });
    const fail = (err: Error): void => {
      socket.destroy();
      reject(new SipTlsConnectError(host, port, err));
    };
    socket.once('error', fail);
  });
}
