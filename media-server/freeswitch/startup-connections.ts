import type Mrf from 'drachtio-fsmrf';
import { MediaServerConnectError } from './freeswitch-errors.js';
import type { SrfApi } from './srf-api.js';

export interface DrachtioAddress {
  readonly host: string;
  readonly port: number;
  readonly secret: string;
}

/**
 * Connects to drachtio-server and resolves with the SIP address it reports,
 * or rejects with MediaServerConnectError on the first socket error, a
 * refused secret, or no answer within `timeoutMs`: drachtio-srf itself
 * would retry for ever and the process would hang, silent. On failure we
 * ask it to stop: `disconnect()` does when a socket is open (a refused
 * secret); with none open yet drachtio-srf 5.0 throws before it gets there
 * and goes on retrying in the background, so a failed start must end the
 * process (app/main.ts exits on it).
 */
export function connectDrachtio(srf: SrfApi, address: DrachtioAddress, timeoutMs: number): Promise<string> {
  const where = `${address.host}:${address.port}`;
  return new Promise((resolve, reject) => {
    const settle = (problem: string | undefined, hostport?: string): void => {
      clearTimeout(timer);
      srf.removeListener('connect', onConnect);
      srf.removeListener('error', onError);
      if (problem === undefined) {
        resolve(hostport ?? '');
        return;
      }
      try {
        srf.disconnect();
      } catch {
        // no socket was ever open (see above)
      }
      reject(new MediaServerConnectError('drachtio-server', where, problem, 'DRACHTIO_HOST, DRACHTIO_PORT and DRACHTIO_SECRET match it'));
    };
    const onConnect = (err: Error | null, hostport?: string): void => settle(err ? 'it refused DRACHTIO_SECRET' : undefined, hostport);
    const onError = (err: Error): void => settle((err as NodeJS.ErrnoException).code ?? err.message);
    const timer = setTimeout(() => settle(`no answer within ${timeoutMs} ms`), timeoutMs);
    srf.on('connect', onConnect);
    srf.on('error', onError);
    srf.connect({ host: address.host, port: address.port, secret: address.secret });
  });
}

/** What `new Mrf(srf)` gives: the connect step of drachtio-fsmrf. */
export interface MrfConnector {
  connect(options: Mrf.ConnectOptions): Promise<Mrf.MediaServer>;
}

/**
 * Connects to FreeSWITCH's event socket through drachtio-fsmrf (which also
 * opens the listener for FreeSWITCH's outbound connections and checks the
 * sofia profile), failing with MediaServerConnectError instead of waiting.
 */
export async function connectFreeswitch(mrf: MrfConnector, options: Mrf.ConnectOptions, timeoutMs: number): Promise<Mrf.MediaServer> {
  const where = `${options.address}:${options.port ?? 8021}`;
  const fail = (problem: string): MediaServerConnectError =>
    new MediaServerConnectError('FreeSWITCH event socket', where, problem, 'FREESWITCH_HOST, FREESWITCH_PORT and FREESWITCH_SECRET match it (and its ACL lets us in)');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(fail(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([
      mrf.connect(options).catch((err: unknown) => {
        const e = err as NodeJS.ErrnoException;
        throw fail(e.message === 'acl-error' ? 'its ACL refused us' : (e.code ?? e.message));
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
