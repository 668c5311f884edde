import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_FILES } from '../../../app/shipped-files.js';
import type { InboundCall } from '../../../media-server/media-server-port.js';
import { telephonyStackMissing } from '../../../tools/telephony-stack.js';
import type { SipContractHarness } from '../../support/media-server-contract/sip-parties.js';
import { telephonyStackHarness } from '../../support/media-server-contract/telephony-stack-harness.js';

/**
 * Barge-in on the real FreeSWITCH: `uuid_break` stops only the file that is
 * playing, so a prompt of several files must end at the key as a whole, and
 * the next prompt must not start nested inside the one it replaces.
 */
const missing = telephonyStackMissing();
const prompt = (name: string): { file: string } => ({ file: join(SHIPPED_FILES.promptAudioDir, 'en-GB', `${name}.wav`) });

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(missing !== undefined)(`barge-in on drachtio-server + FreeSWITCH${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let h: SipContractHarness;
  beforeAll(async () => {
    h = await telephonyStackHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a key ends a prompt of several files: the next prompt plays on its own, and nothing of the first one after it', { timeout: 30_000 }, async () => {
    const offered = new Promise<InboundCall>((resolve) => {
      const onCall = (call: InboundCall): void => {
        h.server.off('call', onCall);
        resolve(call);
      };
      h.server.on('call', onCall);
    });
    const caller = await h.call();
    const call = await offered;
    await call.answer();
    const keys: string[] = [];
    call.on('dtmf', (e) => keys.push(e.key));

    // Three files, about 8.6 s of speech; the key comes during the first, and the flow
    // starts its next prompt at once, as it does when a field's first key barges in.
    const first = call.play([prompt('agent-capture-intro'), prompt('confirm-amount'), prompt('confirm-card-keys')], { bargeIn: true });
    await until(() => caller.loudFramesHeard() > 10, 'the prompt to be heard');
    await caller.press('5', 'rfc4733');
    const next = call.play([prompt('enter-expiry')]);
    expect(await first).toBe('stopped');
    expect(keys).toEqual(['5']);
    const beforeNext = caller.loudFramesHeard();
    expect(await next).toBe('completed');
    // The next prompt was heard (about 2.1 s of speech)...
    expect(caller.loudFramesHeard() - beforeNext).toBeGreaterThan(50);
    // ...and nothing after it: the first prompt's other files never play (what was in flight aside).
    await new Promise((r) => setTimeout(r, 200));
    const afterNext = caller.loudFramesHeard();
    await new Promise((r) => setTimeout(r, 4000));
    expect(caller.loudFramesHeard() - afterNext).toBe(0);
    await call.hangup();
  });
});
