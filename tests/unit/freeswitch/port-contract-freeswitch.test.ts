import { describeMediaServerContract } from '../../support/media-server-contract/contract.js';
import { freeswitchHarness } from '../../support/media-server-contract/freeswitch-harness.js';

/**
 * The media server port contract against the FreeSWITCH adapter, with
 * drachtio-srf and drachtio-fsmrf replaced by fakes at their public APIs
 * (drachtio-server and FreeSWITCH cannot be installed here). The same suite
 * runs against the embedded adapter with real SIP and RTP:
 * tests/integration/media-server/port-contract-embedded.test.ts.
 */
describeMediaServerContract('FreeSWITCH adapter on drachtio-srf and drachtio-fsmrf fakes', freeswitchHarness);
