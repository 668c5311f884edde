import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaServer } from '../../../media-server/media-server-port.js';
import { startTelephonyStack, telephonyStackMissing, type TelephonyStack } from '../../../tools/telephony-stack.js';
import WebSocket from 'ws';
import { auditRecordings } from '../../../tools/audit/recording-audit.js';
import { projectRoot } from '../../../app/project-root.js';
import { dtmfPcm } from '../../../tools/dtmf-audio.js';
import { findCardDataInFiles, findCardDataInText } from '../../support/card-scan.js';
import { framesDominatedBy, pcmuAudio, rtpTo } from '../../../tools/capture/rtp-capture.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { concatPcm, writeUlaw } from '../../support/sipp-media.js';
import { freePort, keyStepsInjection, killAllSipp, runSipp, SippPortSequence, startSipp, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { killAllCaptures, startCapture, type Capture } from '../../../tools/capture/tcpdump.js';
import { detectKeys, rms, speechLike } from '../../unit/rtp/signals.js';
import { testDataDir } from '../../support/test-data-dir.js';
import { startFakeRecorder, type FakeRecorder } from '../../support/fake-recorder.js';
import { recordingsIn, sidecarOf } from '../../support/recordings.js';

// Public test card numbers (the sandbox PSP's table).
const VISA = '4242424242424242';
const MASTERCARD = '5555555555554444';
const EXPIRY = '1230';
const CODE = '123';
const TEST_CARD_DATA = [VISA, MASTERCARD];
const SIPP_DIR = join(projectRoot(), 'tests/sipp');
/** The agent's voice: a steady 1 kHz tone (no DTMF frequency), easy to find in what the caller heard. */
const AGENT_HZ = 1000;

/** 20 ms frames of `pcm` with sound in them (RMS over 100): speech heard. */
function framesWithSound(pcm: Int16Array): number {
  let count = 0;
  for (let at = 0; at + 160 <= pcm.length; at += 160) if (rms(pcm.subarray(at, at + 160)) > 100) count++;
  return count;
}

interface Frame {
  readonly sessionId: string;
  readonly seq: number;
  readonly at: string;
  readonly event: { readonly type: string; readonly field?: string };
}


/**
 * Agent-assisted payments end to end: the system started as `npm start`
 * starts it, an agent's session created through the API, a SIPp caller
 * transferred to sip:pay-<code>, a second SIPp as the agent's phone that the
 * IVR calls back and bridges. What the agent's phone received is captured
 * with tcpdump and checked for key tones and key events; the WebSocket
 * stream, the external recorder's webhooks and the recordings are checked
 * against the call. On MEDIA_SERVER=freeswitch the same calls go through
 * drachtio-server + FreeSWITCH started for the run (tools/telephony-stack.ts).
 */
export function agentAssistedSuite(mediaServer: MediaServer['kind']): void {
  const onFreeswitch = mediaServer === 'freeswitch';
  const missing = onFreeswitch ? telephonyStackMissing() : undefined;
  const title = `agent-assisted payment with SIPp caller and SIPp agent phone${onFreeswitch ? ' (MEDIA_SERVER=freeswitch)' : ''}`;
  describe.skipIf(missing !== undefined)(missing ? `${title}: skipped, ${missing}` : title, () => {
    // The callers' keys and audio (test input) stay out of the system's data, which CI audits for card numbers.
    const work = mkdtempSync(join(tmpdir(), 'agent-assisted-'));
    const dataDir = testDataDir(`agent-assisted-${mediaServer}`);
    let stack: TelephonyStack | undefined;
    let recorder: FakeRecorder;
    let system: RunningSystem;
    const sippPorts = new SippPortSequence(36000);

    beforeAll(async () => {
      recorder = await startFakeRecorder();
      const rtpBase = 52000 + Number(process.env.VITEST_POOL_ID ?? '1') * 400;
      stack = onFreeswitch ? await startTelephonyStack() : undefined;
      const media = stack
        ? await stack.appEnv()
        : { SIP_PORT: String(await freePort(33000)), RTP_PORT_MIN: String(rtpBase), RTP_PORT_MAX: String(rtpBase + 398) };
      system = await startSystem({
        ...media,
        DATA_DIR: dataDir,
        HTTP_PORT: String(await freePort(31000)),
        LOG_LEVEL: 'debug',
        SANDBOX_LATENCY_MS: '50',
        RECORDER_WEBHOOK_URL: recorder.url,
      });
    });

    afterAll(() => rmSync(work, { recursive: true, force: true }));

    afterAll(async () => {
      // Not afterEach: the calls run concurrently, each with its own captures.
      killAllCaptures();
      killAllSipp();
      await system?.stop();
      await stack?.stop();
      await recorder?.close();
    });

    async function createSession(body: Record<string, unknown>): Promise<{ id: string; code: string; transferUri: string }> {
      return system.post('/api/v1/sessions', { amount: 4250, currency: 'EUR', reference: `A-${Date.now() % 100000}`, ...body });
    }

    /** A SIPp agent phone that answers the IVR's call-back and talks (a looped 1 kHz tone). */
    async function agentPhone(): Promise<{ uri: string; mediaPort: number; done: Promise<SippRun> }> {
      const port = await sippPorts.next();
      const voice = join(work, `agent-${port}.ulaw`);
      const tone = new Int16Array(8000).map((_, i) => Math.round(6000 * Math.sin((2 * Math.PI * AGENT_HZ * i) / 8000)));
      writeUlaw(voice, tone);
      const { done } = startSipp(['-sf', join(SIPP_DIR, 'agent-phone.xml'), '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', '-key', 'voice', `${voice},-1,0`]);
      return { uri: `sip:agent@127.0.0.1:${port}`, mediaPort: port + 2, done };
    }

    async function caller(code: string, scenario: string, extra: string[]): Promise<{ mediaPort: number; run: Promise<SippRun> }> {
      const port = await sippPorts.next();
      const run = runSipp({
        args: [`127.0.0.1:${system.sipPort}`, '-sf', join(SIPP_DIR, scenario), '-s', `pay-${code}`, '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', ...extra],
        timeoutMs: 90_000,
      });
      return { mediaPort: port + 2, run };
    }

    const steps = (name: string, ...keyed: [keys: string, pauseMs: number][]): string[] =>
      keyStepsInjection(join(work, `${name}.csv`), ...keyed);

    /** Every frame of one session, as a client that drops its connection once mid-call and resumes. */
    function watch(sessionId: string, dropAfterType: string): { frames: Frame[]; reconnected: Promise<void>; close(): void } {
      const frames: Frame[] = [];
      let socket: WebSocket;
      let dropped = false;
      let resolveReconnected!: () => void;
      const reconnected = new Promise<void>((r) => (resolveReconnected = r));
      const connect = (after: number): void => {
        socket = new WebSocket(`${system.httpUrl.replace('http', 'ws')}/api/v1/stream?session=${sessionId}&after=${after}`, {
          headers: { authorization: `Bearer ${system.adminKey}` },
        });
        socket.on('message', (data) => {
          const message = JSON.parse(String(data)) as Frame | { type: string };
          if (!('seq' in message)) return;
          frames.push(message);
          if (!dropped && message.event.type === dropAfterType) {
            dropped = true;
            socket.terminate();
            // Back after a moment, from the last frame seen: nothing may be lost or repeated.
            setTimeout(() => {
              connect(frames.at(-1)!.seq);
              resolveReconnected();
            }, 300);
          }
        });
      };
      connect(0);
      return { frames, reconnected, close: () => socket.close() };
    }

    async function framesOf(sessionId: string): Promise<Frame[]> {
      // A fresh client replaying the session from the start: the reference sequence.
      return new Promise((resolve, reject) => {
        const frames: Frame[] = [];
        const socket = new WebSocket(`${system.httpUrl.replace('http', 'ws')}/api/v1/stream?session=${sessionId}&after=0`, {
          headers: { authorization: `Bearer ${system.adminKey}` },
        });
        socket.on('message', (data) => {
          const message = JSON.parse(String(data)) as Frame | { type: string };
          if ('seq' in message) frames.push(message);
        });
        socket.on('error', reject);
        setTimeout(() => {
          socket.close();
          resolve(frames);
        }, 700);
      });
    }

    async function statusOf(id: string, wanted: string): Promise<Record<string, unknown>> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const session = await system.api<Record<string, unknown>>(`/api/v1/sessions/${id}`);
        if (session.status === wanted || Date.now() > deadline) return session;
        await new Promise((r) => setTimeout(r, 200));
      }
    }


    describe.concurrent('calls', { timeout: 100_000 }, () => {
      it('in-band keys with the agent on the line: the agent hears the caller but no tone; approved; stream, recorder and recording agree', async () => {
        const agent = await agentPhone();
        const session = await createSession({ agentUri: agent.uri });
        const stream = watch(session.id, 'digit-entered');

        const keys = dtmfPcm([{ keys: VISA }, { waitMs: 1500 }, { keys: EXPIRY }, { waitMs: 1500 }, { keys: CODE }]);
        const voiceBefore = speechLike(8000 * 3, 7);
        // Long enough to be heard past the secure window's end on FreeSWITCH, where the caller is muted for the agent until then.
        const voiceAfter = speechLike(8000 * 6, 8);
        const audio = join(work, 'inband-caller.ulaw');
        const audioMs = writeUlaw(audio, concatPcm(voiceBefore, keys, voiceAfter));
        const callerPorts = await sippPorts.next();
        const agentCapture = await startCapture({ filter: `udp and dst port ${agent.mediaPort}` });
        const callerCapture = await startCapture({ filter: `udp and dst port ${callerPorts + 2}` });
        const run = await runSipp({
          args: [`127.0.0.1:${system.sipPort}`, '-sf', join(SIPP_DIR, 'caller-inband-hangup.xml'), '-s', `pay-${session.code}`, '-i', '127.0.0.1', '-p', String(callerPorts), '-mp', String(callerPorts + 2), '-m', '1', '-key', 'audio', `${audio},1,0`, '-d', String(audioMs + 9000)],
          timeoutMs: 90_000,
        });
        expect(run.exitCode, run.errors || run.stdout.slice(-1500)).toBe(0);
        expect((await agent.done).exitCode).toBe(0);
        const toAgent = rtpTo(await agentCapture.stop(), agent.mediaPort);
        const toCaller = rtpTo(await callerCapture.stop(), callerPorts + 2);
        stream.close();

        const done = await statusOf(session.id, 'approved');
        expect(done).toMatchObject({ status: 'approved', cardBrand: 'visa', cardLast4: '4242' });
        // The call's own recording: one closed pause, as long as the card entry at least.
        const sidecar = sidecarOf(dataDir, String(done.callId));
        expect(sidecar.pauses).toHaveLength(1);
        expect(sidecar.pauses[0]!.toSample).not.toBeNull();
        expect(sidecar.pauses[0]!.toSample! - sidecar.pauses[0]!.fromSample).toBeGreaterThan(keys.length);

        // The agent's phone: audio only (no telephone-event packet), the caller's voice, no key tone.
        expect(toAgent.length).toBeGreaterThan(300);
        expect(new Set(toAgent.map((p) => p.payloadType))).toEqual(new Set([0]));
        const heardByAgent = pcmuAudio(toAgent);
        if (onFreeswitch) {
          // FreeSWITCH mutes the caller for the agent in the secure window (here the whole call up to the
          // security code): the agent hears the caller's voice after it, while the result is read to the caller.
          expect(framesWithSound(heardByAgent)).toBeGreaterThan(100);
        } else expect(rms(heardByAgent)).toBeGreaterThan(300);
        expect(detectKeys(heardByAgent)).toEqual([]);
        // The caller heard the agent (its 1 kHz voice) once bridged.
        expect(framesDominatedBy(pcmuAudio(toCaller), AGENT_HZ)).toBeGreaterThan(25);

        // Stream: in order, nothing lost or repeated across the reconnect, same as a full replay.
        await stream.reconnected;
        const replay = await framesOf(session.id);
        expect(stream.frames.map((f) => f.seq)).toEqual(replay.map((f) => f.seq));
        expect(replay.map((f) => f.seq)).toEqual(replay.map((_, i) => i + 1));
        const types = replay.map((f) => f.event.type);
        expect(types.slice(0, 2)).toEqual(['caller-connected', 'agent-connected']);
        expect(types).toEqual(expect.arrayContaining(['field-started', 'digit-entered', 'field-complete', 'authorising', 'approved', 'ended']));
        expect(types.indexOf('authorising')).toBeLessThan(types.indexOf('approved'));
        expect(findCardDataInText(JSON.stringify(replay), [...TEST_CARD_DATA, `${EXPIRY}`])).toEqual([]);

        // External recorder: paused before the first card key, resumed after the last.
        const calls = recorder.forSession(session.id);
        expect(calls.map((c) => c.action)).toEqual(['pause', 'resume']);
        const firstKey = Date.parse(replay.find((f) => f.event.type === 'digit-entered')!.at);
        const lastField = Date.parse(replay.filter((f) => f.event.type === 'field-complete').at(-1)!.at);
        expect(calls[0]!.receivedAt).toBeLessThanOrEqual(firstKey);
        expect(calls[1]!.receivedAt).toBeGreaterThanOrEqual(lastField);
      });

      it('RFC 4733 keys with the agent on the line: no key event reaches the agent\'s phone; approved', async () => {
        const agent = await agentPhone();
        const session = await createSession({ agentUri: agent.uri });
        const capture: Capture = await startCapture({ filter: `udp and dst port ${agent.mediaPort}` });
        const { run } = await caller(session.code, 'direct-pay-hangup.xml', steps('rfc4733-agent', [MASTERCARD, 2500], [EXPIRY, 1500], [CODE, 9000]));
        const result = await run;
        expect(result.exitCode, result.errors || result.stdout.slice(-1500)).toBe(0);
        await agent.done;
        const toAgent = rtpTo(await capture.stop(), agent.mediaPort);
        expect(await statusOf(session.id, 'approved')).toMatchObject({ status: 'approved', cardBrand: 'mastercard', cardLast4: '4444' });
        expect(toAgent.length).toBeGreaterThan(300);
        expect(toAgent.filter((p) => p.payloadType !== 0)).toEqual([]);
        expect(detectKeys(pcmuAudio(toAgent))).toEqual([]);
      });

      it('the caller hangs up mid-capture: abandoned, the recorder paused then resumed', async () => {
        const agent = await agentPhone();
        const session = await createSession({ agentUri: agent.uri });
        const { run } = await caller(session.code, 'direct-pay-hangup.xml', steps('hangup-agent', [VISA.slice(0, 6), 1200]));
        expect((await run).exitCode).toBe(0);
        // The agent is hung up with the caller.
        expect((await agent.done).exitCode).toBe(0);
        expect(await statusOf(session.id, 'abandoned')).toMatchObject({ status: 'abandoned' });
        const calls = recorder.forSession(session.id).map((c) => c.action);
        expect(calls).toEqual(['pause', 'resume']);
        const types = (await framesOf(session.id)).map((f) => f.event.type);
        expect(types).toEqual(expect.arrayContaining(['caller-connected', 'agent-connected', 'caller-hung-up']));
      });

      it('the agent cancels mid-capture: cancelled, caller and agent still bridged, the recorder paused then resumed', async () => {
        const agent = await agentPhone();
        const session = await createSession({ agentUri: agent.uri });
        const stream = watch(session.id, '-none-');
        // The caller keys part of the card, hears the cancellation, talks on with the agent, then hangs up.
        const { run } = await caller(session.code, 'direct-pay-hangup.xml', steps('cancel-agent', [VISA.slice(0, 6), 12_000]));
        const deadline = Date.now() + 30_000;
        while (!stream.frames.some((f) => f.event.type === 'digit-entered') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        await system.post(`/api/v1/sessions/${session.id}/cancel`);
        const result = await run;
        stream.close();
        expect(result.exitCode, result.errors || result.stdout.slice(-1500)).toBe(0);
        expect((await agent.done).exitCode).toBe(0);
        expect(await statusOf(session.id, 'cancelled')).toMatchObject({ status: 'cancelled' });
        expect(recorder.forSession(session.id).map((c) => c.action)).toEqual(['pause', 'resume']);
      });

      it('the agent\'s phone is busy: the console is told, the caller pays alone and is hung up after the result', async () => {
        const port = await sippPorts.next();
        const busy = startSipp(['-sf', join(projectRoot(), 'tests/integration/sip-core/scenarios/uas-busy.xml'), '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1']);
        const session = await createSession({ agentUri: `sip:agent@127.0.0.1:${port}` });
        // direct-pay-keys.xml waits for the IVR's BYE: with no agent on the line the IVR releases the caller.
        const { run } = await caller(session.code, 'direct-pay-keys.xml', steps('busy-agent', [VISA, 1500], [EXPIRY, 800], [CODE, 500]));
        const result = await run;
        expect(result.exitCode, result.errors || result.stdout.slice(-1500)).toBe(0);
        expect((await busy.done).exitCode).toBe(0);
        expect(await statusOf(session.id, 'approved')).toMatchObject({ status: 'approved' });
        const frames = await framesOf(session.id);
        expect(frames.find((f) => f.event.type === 'agent-unavailable')?.event).toEqual({ type: 'agent-unavailable', reason: 'rejected' });
      });

      it('an unknown code: a spoken refusal, then a hang-up', async () => {
        const { run } = await caller('000000', 'direct-pay-keys.xml', steps('unknown-code', [VISA.slice(0, 4), 500]));
        const result = await run;
        expect(result.exitCode, result.errors || result.stdout.slice(-1500)).toBe(0);
        // Answered (the caller hears why), then our BYE: the scenario only ends on it.
        expect(result.durationMs).toBeGreaterThan(2000);
        expect(system.output.some((l) => l.includes('transfer to an unknown or expired payment session'))).toBe(true);
      });
    });

    it('left no card data in the logs or the data directory, and no sound in a paused recording span', { timeout: 30_000 }, async () => {
      expect(await system.stop()).toBe(0);
      expect(findCardDataInText(system.output.join('\n'), TEST_CARD_DATA)).toEqual([]);
      expect(findCardDataInFiles(dataDir, TEST_CARD_DATA)).toEqual([]);
      // What drachtio-server and FreeSWITCH printed (errors and warnings only, as configured).
      if (stack) expect(findCardDataInText(stack.output(), TEST_CARD_DATA)).toEqual([]);
      // On FreeSWITCH too: the adapter keeps the sidecar of the recording FreeSWITCH writes.
      const audit = auditRecordings(dataDir);
      expect(audit.recordingsScanned).toBeGreaterThanOrEqual(4);
      expect(audit.recordingsScanned).toBe(recordingsIn(dataDir).length);
      expect(audit.unreadable).toEqual([]);
      expect(audit.findings).toEqual([]);
    });
  });
}
