import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, it, type TestContext } from 'vitest';
import { EmbeddedMediaServer } from '../../../media-server/embedded/embedded-media-server.js';
import { PCMU } from '../../../media-server/embedded/media/g711.js';
import { RtpPacket } from '../../../media-server/embedded/media/rtp-packet.js';
import { PROMPT_WAV, readWavFile } from '../../../media-server/embedded/media/wav-reader.js';
import type { CallLeg, DtmfEvent, InboundCall, LegEnded, MediaServer } from '../../../media-server/media-server-port.js';
import { createLogger } from '../../../app/logger.js';
import { projectRoot } from '../../../app/project-root.js';
import { dtmfPcm } from '../../../tools/dtmf-audio.js';
import { freePort, killAllSipp, runSipp, startSipp, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { killAllCaptures, startCapture } from '../../../tools/capture/tcpdump.js';
import { detectKeys, probeHits, rms } from '../../unit/rtp/signals.js';

/**
 * The media server port driven by a small test application against real
 * SIPp processes on 127.0.0.1: a caller bridged to a callee the server
 * dials, with what the callee really received captured by tcpdump and
 * analysed (payload types, in-band DTMF by the Goertzel detector, the
 * caller's speech); then the signalling a caller can do to a leg (CANCEL,
 * BYE either way, 403 outside SIP_ALLOW, hold and unhold by re-INVITE).
 * Run as root: SIPp's play_dtmf and tcpdump need raw sockets.
 */

const HERE = import.meta.dirname;
const SIP_CORE_SCENARIOS = join(HERE, '../sip-core/scenarios');
const PROMPTS = join(projectRoot(), 'ivr/prompts/audio/en-GB');
/** Keys the caller presses as tones in its audio, and as RFC 4733 events (caller-speech-keys.xml). */
const INBAND_KEYS = '3690';
const RFC4733_KEYS = '27*';
/** The telephone-event payload type the callee declares (callee-answer-listen.xml). */
const CALLEE_TELEPHONE_EVENT_PT = 101;

/** Where each part of the caller's audio lies, in samples. */
interface Segment {
  readonly kind: 'speech' | 'keys' | 'silence';
  readonly start: number;
  readonly end: number;
}

interface CallerAudio {
  readonly pcm: Int16Array;
  /** `pcm` in µ-law, as sent. */
  readonly ulaw: Buffer;
  /** What SIPp sends: the µ-law bytes of `pcm`, no header (rtp_stream). */
  readonly path: string;
  readonly durationMs: number;
  readonly segments: readonly Segment[];
}

/**
 * A prompt (speech), the in-band keys (100 ms tone, 100 ms gap), another
 * prompt; silences between, whole 20 ms frames. The masker's lenient
 * look-ahead probe errs towards masking, and some prompts trip it here and
 * there (goodbye.wav loses about a fifth of its samples to the mask while
 * masking is on); these two it leaves alone, so every frame of them must
 * reach the callee unchanged.
 */
async function makeCallerAudio(dir: string): Promise<CallerAudio> {
  const welcome = (await readWavFile(join(PROMPTS, 'welcome.wav'), PROMPT_WAV)).channel(0);
  const tooMany = (await readWavFile(join(PROMPTS, 'too-many-attempts.wav'), PROMPT_WAV)).channel(0);
  const silence = (ms: number): Int16Array => new Int16Array(ms * 8);
  const keys = dtmfPcm([{ keys: INBAND_KEYS, toneMs: 100, gapMs: 100 }]);
  const parts: [Segment['kind'], Int16Array][] = [
    ['silence', silence(200)],
    ['speech', welcome],
    ['silence', silence(200)],
    ['keys', keys],
    ['silence', silence(200)],
    ['speech', tooMany],
    ['silence', silence(300)],
  ];
  const total = Math.ceil(parts.reduce((n, [, p]) => n + p.length, 0) / 160) * 160;
  const pcm = new Int16Array(total);
  const segments: Segment[] = [];
  let at = 0;
  for (const [kind, part] of parts) {
    pcm.set(part, at);
    segments.push({ kind, start: at, end: at + part.length });
    at += part.length;
  }
  const ulaw = new Uint8Array(pcm.length);
  PCMU.encode(pcm, ulaw);
  const path = join(dir, 'caller.ulaw');
  writeFileSync(path, ulaw);
  return { pcm, ulaw: canonicalUlaw(ulaw), path, durationMs: pcm.length / 8, segments };
}

/** µ-law with the two zero code words made one (0x7f and 0xff both decode to 0; we encode 0 as 0xff). */
function canonicalUlaw(bytes: Uint8Array): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < out.length; i++) if (out[i] === 0x7f) out[i] = 0xff;
  return out;
}

/** What one leg of the test application saw. */
interface LegLog {
  readonly keys: DtmfEvent[];
  readonly holds: boolean[];
  readonly ended: Promise<LegEnded>;
}

function watch(leg: CallLeg): LegLog {
  const keys: DtmfEvent[] = [];
  const holds: boolean[] = [];
  leg.on('dtmf', (e) => keys.push(e));
  leg.on('hold', (held) => holds.push(held));
  const ended = new Promise<LegEnded>((resolve) => leg.on('ended', resolve));
  return { keys, holds, ended };
}

/**
 * The next call the server offers, with its listeners attached at once (a
 * CANCEL may follow within milliseconds). The listener goes when the test does.
 */
function nextCall(t: TestContext, server: MediaServer, handle: (call: InboundCall, log: LegLog) => void = () => undefined): Promise<{ call: InboundCall; log: LegLog }> {
  return new Promise((resolve) => {
    const onCall = (call: InboundCall): void => {
      server.off('call', onCall);
      const log = watch(call);
      handle(call, log);
      resolve({ call, log });
    };
    server.on('call', onCall);
    t.onTestFinished(() => {
      server.off('call', onCall);
    });
  });
}

function sippAddress(port: number): string[] {
  return ['-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 4)];
}

function expectPassed(t: TestContext, run: SippRun, what: string): void {
  t.expect(run.exitCode, `${what}: ${run.errors || run.stderr || run.stdout.slice(-2000)}`).toBe(0);
}

function keyList(events: readonly DtmfEvent[]): string[] {
  return events.map((e) => `${e.key}:${e.method}`);
}

describe('media server port with SIPp: bridge and masking on the wire, signalling', () => {
  let server: EmbeddedMediaServer;
  let target: string;
  // Ports: the server's SIP from 50 000, SIPp callers from 53 000 and callees from 56 000 (freePort
  // adds 1 000 a vitest worker; SIPp also binds -mp and -mp + 2, here P + 4 and P + 6); RTP above them.
  const rtpBase = 59000 + (Number(process.env.VITEST_POOL_ID ?? '1') % 8) * 200;
  const logger = createLogger({ level: 'silent' });

  beforeAll(async () => {
    const sipPort = await freePort(50000);
    server = new EmbeddedMediaServer({ sipHost: '127.0.0.1', sipPort, rtpPortMin: rtpBase, rtpPortMax: rtpBase + 98, logger });
    await server.start();
    target = `127.0.0.1:${sipPort}`;
  });
  afterEach(() => {
    killAllSipp();
    killAllCaptures();
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe('a caller bridged to a callee the server dials', () => {
    let audio: CallerAudio;

    beforeAll(async () => {
      audio = await makeCallerAudio(mkdtempSync(join(tmpdir(), 'port-bridge-')));
    });

    /**
     * The test application: on the call, dial the callee, set the caller's
     * masking, answer, bridge (the caller starts talking 200 ms after its
     * ACK); when the caller hangs up, hang up the callee.
     * Returns what the callee's media port received, as captured.
     */
    async function bridgedCall(t: TestContext, masking: boolean) {
      const calleePort = await freePort(56000);
      const calleeMedia = calleePort + 4;
      const capture = await startCapture({ filter: `udp and dst port ${calleeMedia}` });
      const callee = startSipp(['-sf', join(HERE, 'callee-answer-listen.xml'), ...sippAddress(calleePort), '-m', '1', '-timeout', '30s', '-timeout_error']);

      const seen = nextCall(t, server);
      const app = seen.then(async ({ call, log }) => {
        const leg = await server.dial(`sip:agent@127.0.0.1:${calleePort}`, { timeoutMs: 5_000 });
        const agentLog = watch(leg);
        call.setDtmfMasking(masking);
        await call.answer();
        server.bridge(call, leg);
        await log.ended;
        await leg.hangup();
        return { leg, log: agentLog };
      });
      // Awaited below, after the caller's run; a failure is reported there.
      app.catch(() => undefined);
      const callerPort = await freePort(53000);
      const run = await runSipp({
        args: [target, '-sf', join(HERE, 'caller-speech-keys.xml'), '-s', 'pay', ...sippAddress(callerPort), '-m', '1', '-key', 'audio', `${audio.path},1,0`, '-d', String(audio.durationMs)],
        timeoutMs: 20_000,
      });
      expectPassed(t, run, 'caller');
      const agent = await app;
      expectPassed(t, await callee.done, 'callee');
      const datagrams = await capture.stop();
      const { log } = await seen;

      const packets = datagrams.filter((d) => d.destinationPort === calleeMedia).map((d) => RtpPacket.parse(d.payload));
      const ulaw = canonicalUlaw(Buffer.concat(packets.filter((p) => p.payloadType === 0).map((p) => p.payload)));
      const heard = new Int16Array(ulaw.length);
      PCMU.decode(ulaw, heard);
      return { caller: log, agent: agent.log, packets, ulaw, heard };
    }

    /**
     * Finds each loud 20 ms frame of a speech segment in what the callee
     * heard (G.711 in, G.711 out, same law: unmasked audio arrives bit-exact)
     * and returns how many were found and the commonest offset.
     */
    function locate(segment: Segment, heardUlaw: Buffer): { loud: number; found: number; offset: number | undefined } {
      const sentUlaw = audio.ulaw;
      const votes = new Map<number, number>();
      let loud = 0;
      let found = 0;
      for (let at = segment.start; at + 160 <= segment.end; at += 160) {
        if (rms(audio.pcm, at, at + 160) < 500) continue;
        loud++;
        const pos = heardUlaw.indexOf(sentUlaw.subarray(at, at + 160));
        if (pos < 0) continue;
        found++;
        votes.set(pos - at, (votes.get(pos - at) ?? 0) + 1);
      }
      const offset = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
      return { loud, found, offset };
    }

    it('masking on: the callee gets the caller\'s speech bit-exact, no telephone-event and no in-band DTMF; the port still reports every key', async (t) => {
      const { expect } = t;
      const c = await bridgedCall(t, true);

      expect(keyList(c.caller.keys)).toEqual([...[...INBAND_KEYS].map((k) => `${k}:inband`), ...[...RFC4733_KEYS].map((k) => `${k}:rfc4733`)]);
      expect(await c.caller.ended).toEqual({ reason: 'remote-hangup' });
      expect(await c.agent.ended).toEqual({ reason: 'local-hangup' });
      expect(c.agent.keys).toEqual([]);
      expect(server.activeLegs).toBe(0);

      // A PCMU stream for the whole call, and nothing else: the callee
      // declared telephone-event on 101, yet no event packet, nor any other
      // payload type, reached its port.
      expect(c.packets.length).toBeGreaterThan(audio.durationMs / 40);
      expect(c.packets.filter((p) => p.payloadType === CALLEE_TELEPHONE_EVENT_PT)).toEqual([]);
      expect(new Set(c.packets.map((p) => p.payloadType))).toEqual(new Set([0]));

      // No key the Goertzel detector (or its lenient probe) can hear.
      expect(detectKeys(c.heard)).toEqual([]);
      expect(probeHits(c.heard)).toEqual([]);

      // The speech before and after the keys arrived, bit-exact and as loud as it was sent.
      for (const segment of audio.segments.filter((s) => s.kind === 'speech')) {
        const { loud, found, offset } = locate(segment, c.ulaw);
        expect(loud).toBeGreaterThan(10);
        expect(found / loud).toBeGreaterThan(0.9);
        expect(offset).toBeDefined();
        const sent = rms(audio.pcm, segment.start, segment.end);
        expect(rms(c.heard, segment.start + offset!, segment.end + offset!)).toBeGreaterThan(sent * 0.8);
      }
      // Where the keys were, the callee heard the flat masking tone, not silence and not the keys.
      const keys = audio.segments.find((s) => s.kind === 'keys')!;
      const { offset } = locate(audio.segments.find((s) => s.kind === 'speech')!, c.ulaw);
      const masked = c.heard.subarray(keys.start + offset!, keys.end + offset!);
      expect(rms(masked)).toBeGreaterThan(300);
      expect(detectKeys(masked)).toEqual([]);
    });

    it('masking off: the in-band tones reach the callee (RFC 4733 events never do), and the port reports the keys', async (t) => {
      const { expect } = t;
      const c = await bridgedCall(t, false);
      expect(keyList(c.caller.keys)).toEqual([...[...INBAND_KEYS].map((k) => `${k}:inband`), ...[...RFC4733_KEYS].map((k) => `${k}:rfc4733`)]);
      expect(new Set(c.packets.map((p) => p.payloadType))).toEqual(new Set([0]));
      expect(detectKeys(c.heard).join('')).toBe(INBAND_KEYS);
      const keys = audio.segments.find((s) => s.kind === 'keys')!;
      const { found, loud } = locate(keys, c.ulaw);
      expect(found / loud).toBeGreaterThan(0.9);
    });
  });

  describe('signalling through the port', () => {
    it('CANCEL before the answer: SIPp gets 487, the call ends "cancelled", can no longer be answered, and was sent no RTP', async (t) => {
      const { expect } = t;
      const callerPort = await freePort(53000);
      const capture = await startCapture({ filter: `udp and dst port ${callerPort + 4}` });
      // The application has not answered yet (it is still finding an agent, say) when the
      // caller gives up after 400 ms of ringing.
      const seen = nextCall(t, server);
      const run = await runSipp({ args: [target, '-sf', join(HERE, 'caller-ring-cancel.xml'), '-s', 'pay', ...sippAddress(callerPort), '-m', '1'], timeoutMs: 10_000 });
      expectPassed(t, run, 'caller (CANCEL, 487, ACK)');
      const { call, log } = await seen;
      expect(await log.ended).toEqual({ reason: 'cancelled', status: 487 });
      expect(call.ended).toBe(true);
      await expect(call.answer()).rejects.toThrow();
      expect(server.activeLegs).toBe(0);
      // RFC 3264 §6: media may flow once the answer is sent; there never was one.
      expect(await capture.stop()).toEqual([]);
    });

    it('BYE from the caller: the leg ends "remote-hangup"', async (t) => {
      const { expect } = t;
      const seen = nextCall(t, server, (call) => void call.answer());
      const callerPort = await freePort(53000);
      const run = await runSipp({ args: [target, '-sn', 'uac', '-d', '300', '-s', 'pay', ...sippAddress(callerPort), '-m', '1'], timeoutMs: 10_000 });
      expectPassed(t, run, 'caller (-sn uac)');
      const { call, log } = await seen;
      expect(await log.ended).toEqual({ reason: 'remote-hangup' });
      expect(call.ended).toBe(true);
      expect(server.activeLegs).toBe(0);
    });

    it('BYE from us: hangup() sends it, SIPp answers 200, the leg ends "local-hangup"', async (t) => {
      const { expect } = t;
      const hungUp: Promise<void>[] = [];
      const seen = nextCall(t, server, (call) => {
        hungUp.push(call.answer().then(() => call.hangup()));
      });
      const callerPort = await freePort(53000);
      const run = await runSipp({ args: [target, '-sf', join(SIP_CORE_SCENARIOS, 'uac-wait-bye.xml'), '-s', 'pay', ...sippAddress(callerPort), '-m', '1'], timeoutMs: 10_000 });
      expectPassed(t, run, 'caller (waits for BYE)');
      const { call, log } = await seen;
      await Promise.all(hungUp);
      expect(await log.ended).toEqual({ reason: 'local-hangup' });
      expect(call.ended).toBe(true);
      // Safe to call twice.
      await call.hangup();
      expect(server.activeLegs).toBe(0);
    });

    it('an INVITE from outside SIP_ALLOW gets 403 and no call reaches the application', async (t) => {
      const { expect } = t;
      const sipPort = await freePort(50000);
      const guarded = new EmbeddedMediaServer({ sipHost: '127.0.0.1', sipPort, allow: ['10.0.0.0/8'], rtpPortMin: rtpBase + 100, rtpPortMax: rtpBase + 198, logger });
      await guarded.start();
      t.onTestFinished(() => guarded.stop());
      const calls: InboundCall[] = [];
      guarded.on('call', (call) => calls.push(call));
      const callerPort = await freePort(53000);
      const run = await runSipp({ args: [`127.0.0.1:${sipPort}`, '-sf', join(HERE, 'caller-invite-forbidden.xml'), '-s', 'pay', ...sippAddress(callerPort), '-m', '1'], timeoutMs: 10_000 });
      expectPassed(t, run, 'caller (403)');
      expect(calls).toEqual([]);
      expect(guarded.sipCounters.forbidden).toBeGreaterThanOrEqual(1);
      expect(guarded.activeLegs).toBe(0);
    });

    it('re-INVITE hold then unhold: the leg emits hold true then false, sends no RTP while held, and the call goes on', async (t) => {
      const { expect } = t;
      const callerPort = await freePort(53000);
      const callerMedia = callerPort + 4;
      const capture = await startCapture({ filter: `udp and dst port ${callerMedia}` });
      const seen = nextCall(t, server, (call) => void call.answer());
      const run = await runSipp({ args: [target, '-sf', join(HERE, 'caller-hold-unhold.xml'), '-s', 'pay', ...sippAddress(callerPort), '-m', '1'], timeoutMs: 15_000 });
      expectPassed(t, run, 'caller (hold, unhold)');
      const { call, log } = await seen;
      expect(await log.ended).toEqual({ reason: 'remote-hangup' });
      expect(log.holds).toEqual([true, false]);
      // After the unhold the call still works: the caller's key arrives.
      expect(keyList(log.keys)).toEqual(['5:rfc4733']);
      expect(call.ended).toBe(true);

      // On the wire: one RTP stream (one SSRC, no sequence number skipped)
      // whose timestamps jump once, where the hold was (SIPp held for 600 ms;
      // half of it is a safe floor even if the media clock skipped frames):
      // nothing was sent while held, and sending resumed with the marker bit
      // (RFC 3551 §4.1).
      const packets = (await capture.stop()).filter((d) => d.destinationPort === callerMedia).map((d) => RtpPacket.parse(d.payload));
      expect(packets.length).toBeGreaterThan(20);
      expect(new Set(packets.map((p) => p.ssrc)).size).toBe(1);
      const jumps: { index: number; samples: number; marker: boolean }[] = [];
      for (let i = 1; i < packets.length; i++) {
        const prev = packets[i - 1]!;
        const p = packets[i]!;
        expect(p.sequenceNumber).toBe((prev.sequenceNumber + 1) & 0xffff);
        const samples = (p.timestamp - prev.timestamp) >>> 0;
        if (samples !== 160) jumps.push({ index: i, samples, marker: p.marker });
      }
      expect(jumps).toHaveLength(1);
      expect(jumps[0]!.marker).toBe(true);
      expect(jumps[0]!.samples).toBeGreaterThanOrEqual(300 * 8);
      expect(packets.filter((p) => p.marker)).toHaveLength(2);
      expect(packets[0]!.marker).toBe(true);
    });
  });
});
