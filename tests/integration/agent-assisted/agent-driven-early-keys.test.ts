import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { projectRoot } from '../../../app/project-root.js';
import { parseWav } from '../../../media-server/embedded/media/wav-reader.js';
import { dtmfPcm } from '../../../tools/dtmf-audio.js';
import { pcmuAudio, rtpTo, type CapturedRtp } from '../../../tools/capture/rtp-capture.js';
import { killAllCaptures, startCapture } from '../../../tools/capture/tcpdump.js';
import { freePort, keyStepsInjection, killAllSipp, runSipp, SippPortSequence, startSipp, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { findCardDataInFiles, findCardDataInText } from '../../support/card-scan.js';
import { recordingOf } from '../../support/recordings.js';
import { startFakeRecorder, type FakeRecorder } from '../../support/fake-recorder.js';
import { concatPcm, writeUlaw } from '../../support/sipp-media.js';
import { testDataDir } from '../../support/test-data-dir.js';
import { detectKeys, rms, speechLike } from '../../unit/rtp/signals.js';

// Public test card number (the sandbox PSP's table), an expiry and a code.
const VISA = '4242424242424242';
const EXPIRY = '1230';
const CODE = '123';
const WHOLE_CARD = `${VISA}${EXPIRY}${CODE}`;
const SIPP_DIR = join(projectRoot(), 'tests/sipp');

interface Frame {
  readonly seq: number;
  readonly event: { readonly type: string; readonly field?: string; readonly count?: number };
}

/**
 * Agent-driven capture (autoCapture off) with a caller who never waits for a
 * prompt: the whole card keyed before the agent has asked for any field,
 * then the expiry and code keyed straight after the card number, before the
 * agent asks for them. From the caller joining to the end, no key may reach
 * the agent's phone (tcpdump of its leg: no telephone-event, no detectable
 * tone) or the call's recording, and the agent's stream says `keyed-early`.
 * The agent still hears the caller's voice, and the payment completes once
 * the caller keys each field when asked.
 */
describe('agent-driven capture, a caller who keys every field without waiting', () => {
  const work = mkdtempSync(join(tmpdir(), 'agent-driven-'));
  const dataDir = testDataDir('agent-driven');
  let recorder: FakeRecorder;
  let system: RunningSystem;
  const sippPorts = new SippPortSequence(38000);

  beforeAll(async () => {
    recorder = await startFakeRecorder();
    const rtpBase = 44000 + Number(process.env.VITEST_POOL_ID ?? '1') * 400;
    system = await startSystem({
      DATA_DIR: dataDir,
      HTTP_PORT: String(await freePort(31500)),
      SIP_PORT: String(await freePort(33500)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 398),
      SANDBOX_LATENCY_MS: '50',
      RECORDER_WEBHOOK_URL: recorder.url,
    });
  });

  afterAll(async () => {
    killAllCaptures();
    killAllSipp();
    await system?.stop();
    await recorder?.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function agentPhone(): Promise<{ uri: string; mediaPort: number; done: Promise<SippRun> }> {
    const port = await sippPorts.next();
    const voice = join(work, `agent-${port}.ulaw`);
    writeUlaw(voice, new Int16Array(8000).map((_, i) => Math.round(6000 * Math.sin((2 * Math.PI * 1000 * i) / 8000))));
    const { done } = startSipp(['-sf', join(SIPP_DIR, 'agent-phone.xml'), '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', '-key', 'voice', `${voice},-1,0`]);
    return { uri: `sip:agent@127.0.0.1:${port}`, mediaPort: port + 2, done };
  }

  /**
   * The agent at the console: asks for the card number once the caller has
   * keyed the whole card early, for the expiry once the caller has also keyed
   * expiry and code early, then for each field as the previous completes.
   */
  function agentAtConsole(sessionId: string): { frames: Frame[]; close(): void; failures: unknown[] } {
    const frames: Frame[] = [];
    const failures: unknown[] = [];
    const asked = new Set<string>();
    const command = (name: string, body?: unknown): void => {
      if (asked.has(name + JSON.stringify(body ?? ''))) return;
      asked.add(name + JSON.stringify(body ?? ''));
      system.post(`/api/v1/sessions/${sessionId}/${name}`, body).catch((err: unknown) => failures.push(err));
    };
    const socket = new WebSocket(`${system.httpUrl.replace('http', 'ws')}/api/v1/stream?session=${sessionId}&after=0`, {
      headers: { authorization: `Bearer ${system.adminKey}` },
    });
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Frame | { type: string };
      if (!('seq' in message)) return;
      frames.push(message);
      const { event } = message;
      if (event.type === 'keyed-early' && event.count === WHOLE_CARD.length) command('capture', { field: 'card-number' });
      if (event.type === 'keyed-early' && event.count === WHOLE_CARD.length + EXPIRY.length + CODE.length) command('capture', { field: 'expiry' });
      if (event.type === 'field-complete' && event.field === 'expiry') command('capture', { field: 'security-code' });
      if (event.type === 'field-complete' && event.field === 'security-code') command('complete');
    });
    return { frames, failures, close: () => socket.close() };
  }

  async function statusOf(id: string, wanted: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const session = await system.api<Record<string, unknown>>(`/api/v1/sessions/${id}`);
      if (session.status === wanted || Date.now() > deadline) return session;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * One agent-driven payment: the agent's phone, the session, the agent at the
   * console, a tcpdump of the agent's leg and the SIPp caller `callerArgs`
   * describes; returns what the agent's phone received and the session.
   */
  async function payAgentDriven(reference: string, callerArgs: string[]): Promise<{ toAgent: CapturedRtp[]; frames: Frame[]; session: Record<string, unknown> }> {
    const agent = await agentPhone();
    const session = await system.post<{ id: string; code: string }>('/api/v1/sessions', {
      amount: 4250, currency: 'EUR', reference, agentUri: agent.uri, autoCapture: false,
    });
    const agentConsole = agentAtConsole(session.id);
    const port = await sippPorts.next();
    const capture = await startCapture({ filter: `udp and dst port ${agent.mediaPort}` });
    const run = await runSipp({
      args: [`127.0.0.1:${system.sipPort}`, '-s', `pay-${session.code}`, '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', ...callerArgs],
      timeoutMs: 110_000,
    });
    expect(run.exitCode, run.errors || run.stdout.slice(-1500)).toBe(0);
    expect((await agent.done).exitCode).toBe(0);
    const toAgent = rtpTo(await capture.stop(), agent.mediaPort);
    agentConsole.close();
    expect(agentConsole.failures).toEqual([]);
    const done = await statusOf(session.id, 'approved');
    expect(done).toMatchObject({ status: 'approved', cardBrand: 'visa', cardLast4: '4242' });
    // One window: the external recorder paused once and resumed once.
    expect(recorder.forSession(session.id).map((c) => c.action)).toEqual(['pause', 'resume']);
    return { toAgent, frames: agentConsole.frames, session: done };
  }

  /** What the agent's phone received, and the call's recording, hold no key in any form. */
  function expectNoKeyReachedAgentOrRecording(toAgent: readonly CapturedRtp[], callId: string): void {
    expect(toAgent.length).toBeGreaterThan(500);
    expect(toAgent.filter((p) => p.payloadType !== 0)).toEqual([]);
    const heard = pcmuAudio(toAgent);
    expect(detectKeys(heard)).toEqual([]);
    // …while the caller's voice did reach the agent.
    expect(rms(heard)).toBeGreaterThan(300);
    expectNoKeyInRecording(callId);
  }

  function expectNoKeyInRecording(callId: string): void {
    const wav = parseWav(readFileSync(recordingOf(dataDir, callId)), { channels: 2 });
    expect(detectKeys(wav.channel(0))).toEqual([]);
    expect(detectKeys(wav.channel(1))).toEqual([]);
  }

  function expectStreamToShow(frames: readonly Frame[]): void {
    const types = frames.map((f) => f.event.type);
    const early = frames.filter((f) => f.event.type === 'keyed-early').map((f) => f.event.count);
    // 23 keys before any field, then 7 after the card number (expiry and code, early).
    expect(early).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(types.filter((t) => t === 'secure-on')).toHaveLength(1);
    expect(types.filter((t) => t === 'secure-off')).toHaveLength(1);
    expect(types.indexOf('secure-on')).toBeLessThan(types.indexOf('field-started'));
    expect(types.indexOf('secure-off')).toBeLessThan(types.indexOf('approved'));
    expect(findCardDataInText(JSON.stringify(frames), [VISA])).toEqual([]);
  }

  describe.concurrent('calls', { timeout: 120_000 }, () => {
    it('in-band keys: nothing reaches the agent or the recording, the stream shows keyed-early, approved', async () => {
      // Caller timeline: talk, the whole card at once, talk, the whole card again
      // (card number asked by then), talk, expiry when asked, talk, code when asked, talk.
      const audio = concatPcm(
        speechLike(8000 * 3, 11),
        dtmfPcm([{ keys: WHOLE_CARD }]),
        speechLike(8000 * 4, 12),
        dtmfPcm([{ keys: WHOLE_CARD }]),
        speechLike(8000 * 4, 13),
        dtmfPcm([{ keys: EXPIRY }]),
        speechLike(8000 * 4, 14),
        dtmfPcm([{ keys: CODE }]),
        speechLike(8000 * 3, 15),
      );
      const file = join(work, 'early-inband.ulaw');
      const audioMs = writeUlaw(file, audio);
      const { toAgent, frames, session } = await payAgentDriven('EARLY-INBAND', [
        '-sf', join(SIPP_DIR, 'caller-inband-hangup.xml'), '-key', 'audio', `${file},1,0`, '-d', String(audioMs + 6000),
      ]);
      expectNoKeyReachedAgentOrRecording(toAgent, String(session.callId));
      expectStreamToShow(frames);
    });

    it('RFC 4733 keys: no telephone-event or tone reaches the agent or the recording, the stream shows keyed-early, approved', async () => {
      const steps = keyStepsInjection(join(work, 'early-rfc4733.csv'), ['', 2500], [WHOLE_CARD, 4000], [WHOLE_CARD, 4000], [EXPIRY, 4000], [CODE, 4000], ['', 6000]);
      const { toAgent, frames, session } = await payAgentDriven('EARLY-RFC4733', ['-sf', join(SIPP_DIR, 'direct-pay-hangup.xml'), ...steps]);
      // SIPp's RFC 4733 caller sends no voice: only the absence of keys is checked on the agent's side.
      expect(toAgent.filter((p) => p.payloadType !== 0)).toEqual([]);
      expect(detectKeys(pcmuAudio(toAgent))).toEqual([]);
      expectNoKeyInRecording(String(session.callId));
      expectStreamToShow(frames);
    });
  });

  it('left no card number in the logs or the data directory', async () => {
    expect(await system.stop()).toBe(0);
    expect(findCardDataInText(system.output.join('\n'), [VISA])).toEqual([]);
    expect(findCardDataInFiles(dataDir, [VISA])).toEqual([]);
  });
});
