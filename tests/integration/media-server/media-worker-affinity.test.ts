import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedMediaServer } from '../../../media-server/embedded/embedded-media-server.js';
import type { CallLeg, InboundCall } from '../../../media-server/media-server-port.js';
import type { ContractHarness } from '../../support/media-server-contract/contract.js';
import { embeddedHarness } from '../../support/media-server-contract/embedded-harness.js';

/**
 * Where a call's legs land with MEDIA_WORKERS=2, with real SIP and RTP on
 * loopback: the IVR dials the agent from its handling of the call (the
 * `call` event, or a key press of the caller), and that leg must join the
 * caller's worker, so the bridge between them stays inside one thread.
 */
describe('embedded media server on two media workers: a call’s legs on one worker', () => {
  let h: ContractHarness;
  let server: EmbeddedMediaServer;
  const legs: CallLeg[] = [];

  beforeAll(async () => {
    h = await embeddedHarness({ mediaWorkers: 2 });
    server = h.server as EmbeddedMediaServer;
  });

  afterAll(async () => {
    await Promise.allSettled(legs.map((leg) => leg.hangup()));
    await h?.close();
  });

  /** Load per worker once `done` holds, polled (the workers' sessions close asynchronously). */
  async function loadWhen(done: (load: readonly number[]) => boolean): Promise<readonly number[]> {
    for (let i = 0; i < 500; i++) {
      const load = server.mediaWorkers?.load ?? [];
      if (done(load)) return load;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`media worker load stayed ${JSON.stringify(server.mediaWorkers?.load)}`);
  }

  it('an agent dialled from the call event’s handling joins the caller’s worker; so does one dialled on a key press', async () => {
    await loadWhen((load) => load.every((n) => n === 0));
    const phone = await h.phone('answer');
    const dialled = new Promise<{ call: InboundCall; agent: CallLeg }>((resolve, reject) => {
      const onCall = (call: InboundCall): void => {
        server.off('call', onCall);
        legs.push(call);
        // As PaymentIvr does: answer, then call the agent back, all in the call's own handling.
        void (async () => {
          await call.answer();
          const agent = await server.dial(phone.uri, { timeoutMs: 5000 });
          legs.push(agent);
          server.bridge(call, agent);
          resolve({ call, agent });
        })().catch(reject);
      };
      server.on('call', onCall);
    });
    const caller = await h.call();
    const { call } = await dialled;
    expect(await caller.finalStatus).toBe(200);
    expect([...(await loadWhen((load) => load.reduce((a, b) => a + b, 0) === 2))].sort()).toEqual([0, 2]);

    // A second leg dialled from a dtmf listener (outside the 'call' event's own chain) also joins the call's worker.
    const second = await h.phone('answer');
    const onKey = new Promise<void>((resolve, reject) => {
      call.on('dtmf', () => {
        server
          .dial(second.uri, { timeoutMs: 5000 })
          .then((leg) => {
            legs.push(leg);
            resolve();
          }, reject);
      });
    });
    await caller.press('1', 'info');
    await onKey;
    expect([...(await loadWhen((load) => load.reduce((a, b) => a + b, 0) === 3))].sort()).toEqual([0, 3]);
  });
});
