import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EmbeddedMediaServer } from '../../../media-server/embedded/embedded-media-server.js';
import { PCMU } from '../../../media-server/embedded/media/g711.js';
import { readWavFile } from '../../../media-server/embedded/media/wav-reader.js';
import type { RecordingSidecar } from '../../../media-server/embedded/rtp/call-recorder.js';
import type { DtmfEvent, InboundCall, LegEnded, PlaybackResult } from '../../../media-server/media-server-port.js';
import { createLogger } from '../../../app/logger.js';
import { projectRoot } from '../../../app/project-root.js';
import { dtmfPcm } from '../../../tools/dtmf-audio.js';
import { killAllSipp, runSipp, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { concatPcm, mediaServerRtpRange, openCallerEars, sippLocalArgs, sippPorts, writeUlaw } from '../../support/sipp-media.js';
import { detectKeys, probeHits, rms, speechLike } from '../../unit/rtp/signals.js';

/**
 * The embedded media server driven only through its port (answer, play,
 * DTMF events, record with pause/resume, hang up) by small test
 * applications, against real SIPp callers on 127.0.0.1: key presses by each
 * method, a recording paused around card entry, fifty calls at once, and a
 * flood of malformed SIP during a call.
 */

const SCENARIOS = import.meta.dirname;
const PROMPT = join(projectRoot(), 'ivr/prompts/audio/en-GB/welcome.wav');
/** The sandbox PSP's public test card; only ever generated here, never in a file. */
const TEST_CARD = '4242424242424242';

let server: EmbeddedMediaServer;
let work: string;
/** What the test application does with the next inbound call(s); unset, calls are refused. */
let app: ((call: InboundCall) => void) | undefined;
/** What the test application threw; checked after every test. */
const appErrors: unknown[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'port-load-'));
  server = new EmbeddedMediaServer({ sipHost: '127.0.0.1', sipPort: 0, ...mediaServerRtpRange(), logger: createLogger({ level: 'silent' }) });
  server.on('call', (call) => (app ? app(call) : void call.reject(503)));
  await server.start();
});

afterEach(() => {
  killAllSipp();
  app = undefined;
  expect(appErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

interface AppCall {
  readonly call: InboundCall;
  readonly keys: DtmfEvent[];
  readonly ended: Promise<LegEnded>;
}

/** Hands each inbound call to `handle` with its keys and end collected; failures of `handle` fail the test. */
function answerWith(handle: (c: AppCall) => Promise<void>): AppCall[] {
  const calls: AppCall[] = [];
  app = (call) => {
    const keys: DtmfEvent[] = [];
    call.on('dtmf', (e) => keys.push(e));
    const ended = new Promise<LegEnded>((resolve) => call.on('ended', resolve));
    const c = { call, keys, ended };
    calls.push(c);
    handle(c).catch((err: unknown) => appErrors.push(err));
  };
  return calls;
}

async function sipp(scenario: string, extra: readonly string[], timeoutMs = 15_000): Promise<SippRun> {
  const port = await sippPorts();
  return runSipp({ args: [`127.0.0.1:${server.sipPort}`, '-sf', join(SCENARIOS, scenario), '-s', 'pay', ...sippLocalArgs(port), ...extra], timeoutMs });
}

function expectPassed(run: SippRun): void {
  expect(run.exitCode, run.errors || run.stdout.slice(-3000) || run.stderr).toBe(0);
}

const keysOf = (events: readonly DtmfEvent[]): string => events.map((e) => e.key).join('');
const methodsOf = (events: readonly DtmfEvent[]): Set<string> => new Set(events.map((e) => e.method));

async function promptRms(): Promise<number> {
  return rms((await readWavFile(PROMPT)).toPcm16());
}

/** The stereo recording and its sidecar, once the recorder has closed both. */
async function closedRecording(path: string): Promise<{ left: Int16Array; right: Int16Array; sidecar: RecordingSidecar; sidecarText: string }> {
  const sidecarText = await vi.waitFor(
    () => {
      const text = readFileSync(`${path}.json`, 'utf8');
      expect((JSON.parse(text) as RecordingSidecar).stoppedAt).not.toBeNull();
      return text;
    },
    { timeout: 5_000, interval: 50 },
  );
  const wav = await readWavFile(path, { sampleRate: 8000, channels: 2 });
  const sidecar = JSON.parse(sidecarText) as RecordingSidecar;
  expect(wav.frameCount).toBe(sidecar.samples);
  return { left: wav.channel(0), right: wav.channel(1), sidecar, sidecarText };
}

describe('key presses through the port, each once, with its method', () => {
  it('SIP INFO (application/dtmf-relay): 1, 2, #, 5 as info; the first barges in, the last one hangs up at once', async () => {
    let playback: Promise<PlaybackResult> | undefined;
    const calls = answerWith(async ({ call }) => {
      // Hanging up from inside the listener: the BYE must still follow the 200 to that INFO.
      call.on('dtmf', (e) => {
        if (e.key === '5') void call.hangup();
      });
      await call.answer();
      playback = call.play([{ file: PROMPT }], { bargeIn: true });
    });
    expectPassed(await sipp('uac-info-keys.xml', ['-m', '1']));
    expect(calls).toHaveLength(1);
    const [c] = calls as [AppCall];
    expect(await c.ended).toEqual({ reason: 'local-hangup' });
    expect(keysOf(c.keys)).toBe('12#5');
    expect(methodsOf(c.keys)).toEqual(new Set(['info']));
    expect(c.keys.map((k) => k.durationMs)).toEqual([100, 100, 100, 100]);
    expect(await playback).toBe('stopped');
  });

  it('in-band tones in the caller\'s G.711 audio (rtp_stream): 1, 2, #, 5 as inband', async () => {
    const audio = join(work, 'inband-keys.ulaw');
    const ms = writeUlaw(audio, dtmfPcm([{ waitMs: 300 }, { keys: '12#5' }, { waitMs: 300 }]));
    const ears = await openCallerEars(1, work);
    try {
      const calls = answerWith(async ({ call }) => {
        await call.answer();
        await call.play([{ file: PROMPT }]);
      });
      expectPassed(await sipp('uac-audio.xml', ['-m', '1', '-inf', ears.injectionFile, '-key', 'audio', `${audio},1,0`, '-d', String(ms + 400)]));
      expect(calls).toHaveLength(1);
      const [c] = calls as [AppCall];
      expect(await c.ended).toEqual({ reason: 'remote-hangup' });
      expect(keysOf(c.keys)).toBe('12#5');
      expect(methodsOf(c.keys)).toEqual(new Set(['inband']));
    } finally {
      await ears.close();
    }
  });

  it('RFC 4733 events (sip-tester\'s dtmf_2833 pcaps, play_pcap_audio): every key of the keypad as rfc4733', async () => {
    const calls = answerWith(async ({ call }) => {
      await call.answer();
      await call.play([{ file: PROMPT }]);
    });
    expectPassed(await sipp('uac-rfc4733-pcaps.xml', ['-m', '1']));
    expect(calls).toHaveLength(1);
    const [c] = calls as [AppCall];
    expect(await c.ended).toEqual({ reason: 'remote-hangup' });
    expect(keysOf(c.keys)).toBe('123456789*#0');
    expect(methodsOf(c.keys)).toEqual(new Set(['rfc4733']));
  });
});

describe('recording paused around card entry', () => {
  it('paused spans of the stereo WAV are silent, the rest holds the caller; the sidecar has the timeline and no digits', async () => {
    // The caller talks, keys # (the flow pauses the recording), the card
    // number, then * (the flow resumes), and talks again. Both are reacted
    // to on their DTMF events, so the pause follows the media clock.
    const [before, after] = [speechLike(4800, 11), speechLike(4800, 12)];
    const pcm = concatPcm(before, dtmfPcm([{ keys: '#' }, { waitMs: 400 }, { keys: TEST_CARD, toneMs: 80, gapMs: 80 }, { waitMs: 400 }, { keys: '*' }]), after);
    const audio = join(work, 'card-call.ulaw');
    const ms = writeUlaw(audio, pcm);
    const path = join(work, 'card-call.wav');
    const ears = await openCallerEars(1, work);
    try {
      const calls = answerWith(async ({ call }) => {
        call.on('dtmf', (e) => {
          if (e.key === '#') void call.pauseRecording();
          if (e.key === '*') void call.resumeRecording();
        });
        await call.startRecording({ path });
        await call.answer();
        await call.play([{ file: PROMPT }]);
      });
      expectPassed(await sipp('uac-audio.xml', ['-m', '1', '-inf', ears.injectionFile, '-key', 'audio', `${audio},1,0`, '-d', String(ms + 300)]));
      expect(calls).toHaveLength(1);
      const [c] = calls as [AppCall];
      expect(await c.ended).toEqual({ reason: 'remote-hangup' });
      expect(keysOf(c.keys)).toBe(`#${TEST_CARD}*`);
      expect(methodsOf(c.keys)).toEqual(new Set(['inband']));

      const { left, right, sidecar, sidecarText } = await closedRecording(path);
      expect(sidecar.pauses).toHaveLength(1);
      const pause = sidecar.pauses[0]!;
      expect(pause.toSample).not.toBeNull();
      const [from, to] = [pause.fromSample, pause.toSample!];
      // The card's 16 keys (160 ms each) lie inside the paused span.
      expect(to - from).toBeGreaterThan(TEST_CARD.length * 160 * 8);
      for (const channel of [left, right]) {
        const paused = channel.subarray(from, to);
        expect(rms(paused)).toBe(0);
        expect(detectKeys(paused)).toEqual([]);
        expect(probeHits(paused)).toEqual([]);
      }
      // The caller's speech on either side of the pause (diluted by the silence around it), the prompt on the right.
      expect(rms(left, 0, from)).toBeGreaterThan(rms(before) / 3);
      expect(rms(left, to)).toBeGreaterThan(rms(after) / 3);
      expect(rms(right, 0, from)).toBeGreaterThan((await promptRms()) / 3);
      // No card key anywhere in the recording ('#' and '*' bracket the pause and may leave a trace).
      expect(detectKeys(left).filter((k) => k !== '#' && k !== '*')).toEqual([]);
      expect(sidecarText).not.toContain('4242');
    } finally {
      await ears.close();
    }
  });
});

describe('fifty calls at once', () => {
  it('50 SIPp calls ring together, are answered, send speech and hear the prompt; all end cleanly', { timeout: 40_000 }, async () => {
    const CALLS = 50;
    const speech = speechLike(8000, 21);
    const audio = join(work, 'speech.ulaw');
    writeUlaw(audio, speech);
    const prompt = await promptRms();
    const ears = await openCallerEars(CALLS, work);
    const dir = mkdtempSync(join(work, 'load-'));
    const recordings: string[] = [];
    let allRinging!: () => void;
    const ringing = new Promise<void>((resolve) => (allRinging = resolve));
    try {
      // Nobody is answered before all fifty ring: the calls are concurrent by construction.
      const calls = answerWith(async ({ call }) => {
        if (calls.length === CALLS) allRinging();
        await ringing;
        const path = join(dir, `${call.id}.wav`);
        recordings.push(path);
        await call.startRecording({ path });
        await call.answer();
        await call.play([{ file: PROMPT }]);
      });
      const run = await sipp(
        'uac-audio.xml',
        ['-l', String(CALLS), '-m', String(CALLS), '-r', '100', '-inf', ears.injectionFile, '-key', 'audio', `${audio},-1,0`, '-d', '2500'],
        30_000,
      );
      expectPassed(run);
      expect(calls).toHaveLength(CALLS);
      expect(await Promise.all(calls.map((c) => c.ended))).toEqual(Array.from({ length: CALLS }, () => ({ reason: 'remote-hangup' })));

      // The server heard each caller (left channel) and sent each one the prompt (right channel)…
      expect(recordings).toHaveLength(CALLS);
      for (const path of recordings) {
        const { left, right } = await closedRecording(path);
        expect(rms(left), path).toBeGreaterThan(rms(speech) / 3);
        expect(rms(right), path).toBeGreaterThan(prompt / 3);
      }
      // …and each caller's media address got that audio: one stream per call, none shared.
      const ssrcs = new Set<number>();
      for (const ear of ears.phones) {
        const streams = new Set(ear.received.map((r) => r.packet.ssrc));
        expect(streams.size, `port ${ear.port}`).toBe(1);
        for (const ssrc of streams) ssrcs.add(ssrc);
        expect(ear.received.length, `port ${ear.port}`).toBeGreaterThan(50);
        expect(rms(ear.audio(PCMU)), `port ${ear.port}`).toBeGreaterThan(prompt / 3);
      }
      expect(ssrcs.size).toBe(CALLS);
    } finally {
      await ears.close();
    }
  });
});

/** The live call's own headers, to make some of the garbage look as if it belonged to it. */
interface CallIdentity {
  readonly callId: string;
  readonly from: string;
  readonly to: string;
}

/** What was sent, by the path it takes through the server. */
interface FloodReport {
  /** Messages that reach the SIP parser (and must all be refused by it). */
  readonly parsed: number;
  /** Those and the ones the TCP framer cannot cut (the server closes the connection on each). */
  readonly total: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A small deterministic PRNG, so the binary junk is the same every run. */
function junk(seed: number, length: number): Buffer {
  let a = seed >>> 0;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = a >>> 24;
  }
  out[length >> 1] = 0;
  return out;
}

/** The malformed SIP mix: garbage, binary, cut-off headers, lying Content-Length, bad start lines, too many headers. */
function malformed(i: number, target: string, via: string, call: CallIdentity): Buffer {
  const headers = (method: string, extra: readonly string[] = []): string[] => [
    `Via: SIP/2.0/${via};branch=z9hG4bK-flood-${i}`,
    `From: <sip:fuzz@127.0.0.1>;tag=fz${i}`,
    `To: <sip:pay@${target}>`,
    `Call-ID: flood-${i}@127.0.0.1`,
    `CSeq: ${i + 1} ${method}`,
    'Max-Forwards: 70',
    ...extra,
  ];
  const text = (lines: readonly string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1');
  switch (i % 10) {
    case 0:
      return Buffer.from(`GARBAGE ${i} ${'lorem ipsum '.repeat((i % 7) + 1)}\r\nnot: a sip message\r\n\r\n`, 'latin1');
    case 1:
      return junk(i, 48 + (i % 200));
    case 2: // cut off in the middle of the headers
      return text([`INVITE sip:pay@${target} SIP/2.0`, ...headers('INVITE'), 'Content-Type: application/sdp', 'Content-Le']);
    case 3: // Content-Length larger than the body
      return text([`OPTIONS sip:pay@${target} SIP/2.0`, ...headers('OPTIONS', ['Content-Length: 300']), '', 'v=0']);
    case 4:
      return text([`OPTIONS sip:pay@${target} SIP/2.0`, ...headers('OPTIONS', ['Content-Length: ten']), '', '']);
    case 5:
      return text([`INVITE sip:pay@${target} SIP/3.0`, ...headers('INVITE', ['Content-Length: 0']), '', '']);
    case 6:
      return text(['SIP/2.0 2000 Much Too OK', ...headers('INVITE', ['Content-Length: 0']), '', '']);
    case 7: // a BYE naming the live call, with a CSeq that is not one
      return text([`BYE sip:pay@${target} SIP/2.0`, `Via: SIP/2.0/${via};branch=z9hG4bK-flood-${i}`, `From: ${call.from}`, `To: ${call.to}`, `Call-ID: ${call.callId}`, 'CSeq: BYE', 'Max-Forwards: 70', 'Content-Length: 0', '', '']);
    case 8: // an INFO key 9 naming the live call, its CSeq method not INFO
      return text([
        `INFO sip:pay@${target} SIP/2.0`,
        `Via: SIP/2.0/${via};branch=z9hG4bK-flood-${i}`,
        `From: ${call.from}`,
        `To: ${call.to}`,
        `Call-ID: ${call.callId}`,
        `CSeq: ${100 + i} BYE`,
        'Max-Forwards: 70',
        'Content-Type: application/dtmf-relay',
        'Content-Length: 24',
        '',
        'Signal=9\r\nDuration=160\r\n',
      ]);
    default:
      // Every hundredth a datagram near the UDP limit; the others more header lines than allowed.
      if (i % 100 === 99) return text([`INVITE sip:pay@${target} SIP/2.0`, ...headers('INVITE', [`X-Pad: ${'x'.repeat(64_000)}`, 'Content-Length: 70000']), '', '']);
      return text([`OPTIONS sip:pay@${target} SIP/2.0`, ...headers('OPTIONS', Array.from({ length: 120 }, (_, n) => `X-Pad-${n}: ${n}`)), 'Content-Length: 0', '', '']);
  }
}

/** Malformed messages a stream framer can still cut (each has a valid Content-Length), for TCP. */
function framedMalformed(n: number, target: string, via: string, call: CallIdentity): Buffer {
  const headers = [`Via: SIP/2.0/${via};branch=z9hG4bK-tcp-${n}`, `From: <sip:fuzz@127.0.0.1>;tag=tcp${n}`, `To: <sip:pay@${target}>`, `Call-ID: tcp-${n}@127.0.0.1`, `CSeq: ${n + 1} OPTIONS`, 'Max-Forwards: 70'];
  const message = [
    ['HELLO WORLD', ...headers],
    [`OPTIONS sip:pay@${target} SIP/3.0`, ...headers],
    [`OPTIONS sip:pay@${target} SIP/2.0`, ...headers.filter((h) => !h.startsWith('Call-ID'))],
    [`INVITE sip:pay@${target} SIP/2.0`, ...headers],
    ['SIP/2.0 2000 Much Too OK', ...headers],
    [`OPTIONS sip:pay@${target} SIP/2.0`, ...headers, 'this line has no colon'],
    [`OPTIONS sip:pay@${target} SIP/2.0`, ...headers, ...Array.from({ length: 120 }, (_, i) => `X-Pad-${i}: ${i}`)],
    [`OPTIONS sip:pay@${target} SIP/2.0`, ...headers, 'X-Binary: \u0000\u00ff\u0001'],
    [`OPTIONS sip:pay@${target} SIP/2.0`, ...headers.filter((h) => !h.startsWith('Max-Forwards')), 'Max-Forwards: many'],
    [`BYE sip:pay@${target} SIP/2.0`, headers[0]!, `From: ${call.from}`, `To: ${call.to}`, `Call-ID: ${call.callId}`, 'CSeq: BYE', 'Max-Forwards: 70'],
  ][n % 10]!;
  return Buffer.from(`${message.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`, 'latin1');
}

/**
 * Sends `total` malformed messages to the SIP port: a few TCP connections of
 * ten framed-but-malformed messages each, ended by one the framer cannot
 * cut, and the rest over UDP, yielding every few datagrams (the server runs
 * in this process: it gets to read them before the socket buffer fills).
 */
async function floodSip(port: number, call: CallIdentity, total: number): Promise<FloodReport> {
  const target = `127.0.0.1:${port}`;
  const unframeable = [
    (via: string) => Buffer.from(`OPTIONS sip:pay@${target} SIP/2.0\r\nVia: SIP/2.0/${via};branch=z9hG4bK-tcp\r\nContent-Length: abc\r\n\r\n`, 'latin1'),
    () => Buffer.from(`OPTIONS sip:pay@${target} SIP/2.0\r\nX-Pad: ${'y'.repeat(70_000)}`, 'latin1'),
    (via: string) => Buffer.from(`OPTIONS sip:pay@${target} SIP/2.0\r\nVia: SIP/2.0/${via};branch=z9hG4bK-tcp\r\n\r\n`, 'latin1'),
    (via: string) => Buffer.from(`OPTIONS sip:pay@${target} SIP/2.0\r\nVia: SIP/2.0/${via};branch=z9hG4bK-tcp\r\nContent-Length: 999999\r\n\r\n`, 'latin1'),
  ];
  let parsed = 0;
  let sent = 0;
  for (const last of unframeable) {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.on('error', () => undefined); // the server may reset while we write
    socket.resume(); // read (and drop) its 400s: a paused socket never sees the close
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const via = `TCP 127.0.0.1:${socket.localPort}`;
    for (let n = 0; n < 10; n++, sent++, parsed++) socket.write(framedMalformed(n, target, via, call));
    socket.write(last(via));
    sent++;
    await closed;
  }

  const udp: UdpSocket = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const via = `UDP 127.0.0.1:${udp.address().port}`;
  try {
    for (; sent < total; sent++, parsed++) {
      const message = malformed(sent, target, via, call);
      await new Promise<void>((resolve, reject) => udp.send(message, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      if (sent % 10 === 9 || message.length > 10_000) await sleep(1);
    }
  } finally {
    udp.close();
  }
  return { parsed, total: sent };
}

describe('malformed SIP during a call', () => {
  it('2,000 malformed messages over UDP and TCP: the call keeps its keys and ends normally, the next call is answered', async () => {
    const playbacks: Promise<PlaybackResult>[] = [];
    let answered!: () => void;
    const up = new Promise<void>((resolve) => (answered = resolve));
    const calls = answerWith(async ({ call }) => {
      let playback: Promise<PlaybackResult> | undefined;
      call.on('dtmf', (e) => {
        if (e.key === '5') void playback?.then(() => call.hangup());
      });
      await call.answer();
      playback = call.play([{ file: PROMPT }]);
      playbacks.push(playback);
      answered();
    });
    const before = { ...server.sipCounters };
    // The caller keys 1, 2, # and 5 by INFO 1.5 s after its ACK: while the flood is on, or after it.
    const running = sipp('uac-info-keys.xml', ['-m', '1', '-d', '1500']);
    await Promise.race([up, running.then((r) => Promise.reject(new Error(`SIPp ended before the call was answered:\n${r.errors}`)))]);
    const [c] = calls as [AppCall];
    const identity = { callId: c.call.headers.get('call-id')!, from: c.call.headers.get('from')!, to: c.call.headers.get('to')! };
    const flood = await floodSip(server.sipPort, identity, 2_000);

    expectPassed(await running);
    expect(await c.ended).toEqual({ reason: 'local-hangup' });
    expect(keysOf(c.keys)).toBe('12#5');
    expect(methodsOf(c.keys)).toEqual(new Set(['info']));
    expect(await playbacks[0]).toBe('completed');

    // Every message reached the server and was refused: answered 400/505 or dropped, none taken for SIP.
    const after = server.sipCounters;
    expect(flood.total).toBe(2_000);
    expect(after.malformed - before.malformed).toBe(flood.parsed);
    expect(after.answered400 - before.answered400 + (after.dropped - before.dropped)).toBe(flood.total);

    // The next call is served as if nothing had happened.
    expectPassed(await sipp('uac-info-keys.xml', ['-m', '1']));
    expect(calls).toHaveLength(2);
    expect(await calls[1]!.ended).toEqual({ reason: 'local-hangup' });
    expect(keysOf(calls[1]!.keys)).toBe('12#5');
    expect(await playbacks[1]).toBe('completed');
  });
});
