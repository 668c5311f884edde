import { describeMediaServerContract } from '../../support/media-server-contract/contract.js';
import { embeddedHarness } from '../../support/media-server-contract/embedded-harness.js';

/**
 * The media server port contract against the embedded media server, with
 * real SIP (the project's user agent as caller and phones) and real RTP on
 * 127.0.0.1. The same suite runs against the FreeSWITCH adapter on fakes:
 * tests/unit/freeswitch/port-contract-freeswitch.test.ts.
 */
describeMediaServerContract('embedded media server, real SIP and RTP on loopback', embeddedHarness);
