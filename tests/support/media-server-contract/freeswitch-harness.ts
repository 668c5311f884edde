import { createLogger } from '../../../app/logger.js';
import { FreeswitchMediaServer, type FreeswitchMediaServerOptions } from '../../../media-server/freeswitch/freeswitch-media-server.js';
import { FakeSrf, partySdp, type FakeCaller, type FakeSrfConnect } from '../freeswitch/fake-drachtio.js';
import { FakeFreeswitch, FakeMediaServer, FakeMrf, type FakeMrfConnect } from '../freeswitch/fake-freeswitch.js';
import type { ContractCaller, ContractHarness, ContractPhone, PhoneBehaviour } from './contract.js';

/** The FreeSWITCH adapter on fakes, with the fakes at hand for tests that look at the commands. */
export interface FreeswitchRig {
  readonly server: FreeswitchMediaServer;
  readonly srf: FakeSrf;
  readonly fs: FakeFreeswitch;
  readonly mediaServer: FakeMediaServer;
  readonly mrf: FakeMrf;
}

/** The fakes' tones are instantaneous: a short guard keeps the tests quick. */
export const UNMASK_GUARD_MS = 20;

export const TEST_SECRETS = { drachtio: 'drachtio-secret-for-tests', freeswitch: 'freeswitch-secret-for-tests' } as const;

/** A FreeswitchMediaServer wired to a FakeSrf and a FakeMrf (not started). */
export function freeswitchRig(
  options: { srf?: FakeSrfConnect; mrf?: FakeMrfConnect; playbackMs?: number } & Partial<Pick<FreeswitchMediaServerOptions, 'allows' | 'connectTimeoutMs' | 'unmaskGuardMs'>> = {},
): FreeswitchRig {
  const fs = new FakeFreeswitch(options.playbackMs === undefined ? {} : { playbackMs: options.playbackMs });
  const srf = new FakeSrf(options.srf ?? 'ok');
  const mediaServer = new FakeMediaServer(fs);
  const mrf = new FakeMrf(mediaServer, options.mrf ?? 'ok');
  const server = new FreeswitchMediaServer({
    drachtio: { host: '127.0.0.1', port: 9022, secret: TEST_SECRETS.drachtio },
    freeswitch: { host: '127.0.0.1', port: 8021, secret: TEST_SECRETS.freeswitch, listenHost: '127.0.0.1', listenPort: 8085 },
    sipPort: 5060,
    logger: createLogger({ level: 'silent' }),
    srf,
    mrf: () => mrf,
    ...(options.allows ? { allows: options.allows } : {}),
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    unmaskGuardMs: options.unmaskGuardMs ?? UNMASK_GUARD_MS,
  });
  return { server, srf, fs, mediaServer, mrf };
}

/** The caller's FreeSWITCH channel, once answered. */
function channelOf(rig: FreeswitchRig, caller: FakeCaller) {
  const channel = rig.fs.channelWithRemoteSdp(caller.sdp);
  if (!channel) throw new Error('the caller has no FreeSWITCH channel (not answered?)');
  return channel;
}

/** A caller on the fakes: keys by RTP or tones go to its FreeSWITCH channel, INFO to its drachtio dialog. */
export function contractCaller(rig: FreeswitchRig, caller: FakeCaller): ContractCaller {
  return {
    finalStatus: caller.res.final,
    async press(keys, method) {
      for (const key of keys) {
        if (method === 'info') {
          const dialog = await caller.answered;
          await dialog.farEndRequest('info', { 'Content-Type': 'application/dtmf-relay' }, `Signal=${key}\r\nDuration=160\r\n`);
        } else {
          rig.fs.press(channelOf(rig, caller), key, method);
        }
        await new Promise((r) => setImmediate(r));
      }
    },
    async hangUp() {
      (await caller.answered).farEndBye();
    },
    async cancel() {
      caller.cancel();
    },
    hungUpByServer: caller.answered.then((d) => d.destroyed),
    async hold(on) {
      const dialog = await caller.answered;
      const sdp = caller.sdp.replace('a=sendrecv', on ? 'a=sendonly' : 'a=sendrecv');
      return (await dialog.farEndRequest('modify', { 'Content-Type': 'application/sdp' }, sdp)).sent.at(-1)?.status ?? 0;
    },
    referTargets() {
      return (caller.dialog?.sent ?? []).filter((r) => r.method === 'REFER').map((r) => r.headers['Refer-To'] ?? '');
    },
  };
}

/** The contract's harness for the FreeSWITCH adapter on fakes. */
export async function freeswitchHarness(): Promise<ContractHarness & { readonly rig: FreeswitchRig }> {
  const rig = freeswitchRig();
  await rig.server.start();
  let phones = 0;
  return {
    rig,
    server: rig.server,
    async call(options = {}) {
      const caller = rig.srf.placeCall({
        user: options.user ?? 'pay',
        ...(options.headers ? { headers: options.headers } : {}),
        sdp: partySdp('caller', options.codecs ?? 'g711'),
      });
      return contractCaller(rig, caller);
    },
    async phone(behaviour: PhoneBehaviour): Promise<ContractPhone> {
      const phone = rig.srf.addPhone(`sip:agent${++phones}@127.0.0.1`, behaviour);
      return {
        uri: phone.uri,
        async keysHeard() {
          const channel = rig.fs.channelWithRemoteSdp(phone.sdp);
          const heard = channel ? rig.fs.keysHeardBy(channel) : '';
          // An INFO relayed to the phone would be a leak too.
          const relayed = (phone.dialog?.sent ?? []).filter((r) => r.method === 'INFO').map((r) => /Signal=(.)/.exec(r.body ?? '')?.[1] ?? '?');
          return heard + relayed.join('');
        },
        get hungUpByServer() {
          if (!phone.dialog) return Promise.reject(new Error('the phone was never answered'));
          return phone.dialog.destroyed;
        },
        inviteHeader: (name) => phone.invites.at(-1)?.[name],
      };
    },
    settle: () => new Promise((r) => setTimeout(r, UNMASK_GUARD_MS + 20)),
    async keysInRecording(path) {
      const keys = rig.fs.recordings.get(path);
      if (!keys) throw new Error(`FreeSWITCH never recorded ${path}`);
      return keys.join('');
    },
    async close() {
      await rig.server.stop();
    },
  };
}
