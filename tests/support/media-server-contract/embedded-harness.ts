import { createLogger } from '../../../app/logger.js';
import { EmbeddedMediaServer } from '../../../media-server/embedded/embedded-media-server.js';
import { freePort } from '../../../tools/sipp/sipp-process.js';
import type { ContractHarness } from './contract.js';
import { sipPartiesHarness } from './sip-parties.js';

/**
 * The contract's harness for EmbeddedMediaServer: real SIP and RTP on
 * 127.0.0.1 (sip-parties.ts). `mediaWorkers` (MEDIA_WORKERS): the RTP on
 * that many worker threads; default 0, on the test's own thread.
 */
export async function embeddedHarness(options: { readonly mediaWorkers?: number } = {}): Promise<ContractHarness> {
  const worker = Number(process.env.VITEST_POOL_ID ?? '1') % 20;
  const rtpPortMin = 57000 + worker * 200;
  // A fixed port, not 0: the server's Contact carries the configured port, and the ACK goes there.
  const server = new EmbeddedMediaServer({
    sipHost: '127.0.0.1',
    sipPort: await freePort(44000),
    rtpPortMin,
    rtpPortMax: rtpPortMin + 198,
    mediaWorkers: options.mediaWorkers ?? 0,
    logger: createLogger({ level: 'silent' }),
  });
  await server.start();
  // The embedded masker's look-ahead and the tone tail of the last key.
  return sipPartiesHarness(server, { sipPort: server.sipPort, settle: () => new Promise((r) => setTimeout(r, 120)) });
}
