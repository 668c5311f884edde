import { describe, it } from 'vitest';
import { describeMediaServerContract } from '../../support/media-server-contract/contract.js';
import { telephonyStackHarness } from '../../support/media-server-contract/telephony-stack-harness.js';
import { telephonyStackMissing } from '../../../tools/telephony-stack.js';

/**
 * The media server port contract against the FreeSWITCH adapter on the real
 * drachtio-server and FreeSWITCH (tools/telephony-stack.ts), the same suite
 * as the embedded server's (tests/integration/media-server/) and the fakes'
 * (tests/unit/freeswitch/).
 */
const missing = telephonyStackMissing();
if (missing) describe.skip(`media server port contract on drachtio-server + FreeSWITCH: skipped, ${missing}`, () => it('skipped'));
else describeMediaServerContract('FreeSWITCH adapter on drachtio-server and FreeSWITCH', telephonyStackHarness);
