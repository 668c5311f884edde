import { createLogger } from '../../../app/logger.js';
import { FreeswitchMediaServer } from '../../../media-server/freeswitch/freeswitch-media-server.js';
import { freePort } from '../../../tools/sipp/sipp-process.js';
import { startTelephonyStack } from '../../../tools/telephony-stack.js';
import { sipPartiesHarness, type SipContractHarness } from './sip-parties.js';

/** How long a leg's read mute outlasts masking here: the default, as in production. */
const UNMASK_GUARD_MS = 500;

/**
 * The contract's harness for the FreeSWITCH adapter with the real
 * drachtio-srf and drachtio-fsmrf, on drachtio-server and FreeSWITCH
 * started on loopback (tools/telephony-stack.ts); the parties are the same
 * SIP user agents and RTP sockets as the embedded server's (sip-parties.ts).
 */
export async function telephonyStackHarness(): Promise<SipContractHarness> {
  const stack = await startTelephonyStack();
  const server = new FreeswitchMediaServer({
    drachtio: stack.drachtio,
    freeswitch: { ...stack.freeswitch, listenHost: '127.0.0.1', listenPort: await freePort(25000) },
    sipPort: stack.sipPort,
    unmaskGuardMs: UNMASK_GUARD_MS,
    logger: createLogger({ level: process.env.FS_TEST_LOG ?? 'silent' }),
  });
  try {
    await server.start();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return sipPartiesHarness(server, {
    sipPort: stack.sipPort,
    // The guard, plus an event-socket round trip and a jitter buffer's worth of audio.
    settle: () => new Promise((r) => setTimeout(r, UNMASK_GUARD_MS + 300)),
    // Measured here: a key 50 ms after startRecording() resolves is missing, one 100 ms after is there.
    recordingStartMs: 250,
    afterClose: () => stack.stop(),
  });
}
