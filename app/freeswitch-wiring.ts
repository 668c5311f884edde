import type { Logger } from 'pino';
import type { FreeswitchMediaServer } from '../media-server/freeswitch/freeswitch-media-server.js';
import { SourceFilter } from '../media-server/embedded/sip/transport/source-filter.js';
import type { Config } from './config.js';

/**
 * MEDIA_SERVER=freeswitch: the FreeSWITCH adapter on the configured
 * drachtio-server and FreeSWITCH. Loaded only when chosen, so the embedded
 * default never loads drachtio-srf or drachtio-fsmrf. SIP_ALLOW still
 * applies, to the source drachtio-server reports for each INVITE.
 */
export async function createFreeswitchMediaServer(config: Config, logger: Logger): Promise<FreeswitchMediaServer> {
  const { FreeswitchMediaServer } = await import('../media-server/freeswitch/freeswitch-media-server.js');
  const allow = new SourceFilter(config.SIP_ALLOW);
  return new FreeswitchMediaServer({
    drachtio: { host: config.DRACHTIO_HOST, port: config.DRACHTIO_PORT, secret: config.DRACHTIO_SECRET as string },
    freeswitch: {
      host: config.FREESWITCH_HOST,
      port: config.FREESWITCH_PORT,
      secret: config.FREESWITCH_SECRET as string,
      listenHost: config.FREESWITCH_LISTEN_HOST,
      listenPort: config.FREESWITCH_LISTEN_PORT,
      ...(config.FREESWITCH_ADVERTISED_HOST ? { advertisedHost: config.FREESWITCH_ADVERTISED_HOST } : {}),
    },
    sipPort: config.SIP_PORT,
    allows: (address) => allow.allows(address),
    connectTimeoutMs: config.MEDIA_SERVER_CONNECT_TIMEOUT_MS,
    logger,
  });
}
