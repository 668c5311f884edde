import { describeMediaServerContract } from '../../support/media-server-contract/contract.js';
import { embeddedHarness } from '../../support/media-server-contract/embedded-harness.js';

/**
 * The media server port contract against the embedded media server with its
 * RTP on media worker threads (MEDIA_WORKERS): the same suite as
 * port-contract-embedded.test.ts, unchanged. The contract dials its phones
 * from the test, outside any call: on two workers the caller and the phone
 * it is bridged to land on different workers (the bridge through shared
 * frame rings); on one worker, both are on it (the bridge inside a worker).
 */
describeMediaServerContract('embedded media server, RTP on two media workers', () => embeddedHarness({ mediaWorkers: 2 }));
describeMediaServerContract('embedded media server, RTP on one media worker', () => embeddedHarness({ mediaWorkers: 1 }));
