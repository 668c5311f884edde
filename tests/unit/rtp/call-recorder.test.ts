import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readWavFile } from '../../../media-server/embedded/media/wav-reader.js';
import { WavWriterStateError } from '../../../media-server/embedded/media/wav-writer.js';
import { CallRecorder, type RecordingSidecar } from '../../../media-server/embedded/rtp/call-recorder.js';
import { detectKeys, keySequence, probeHits, speechLike } from './signals.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'rtp-recorder-'));
}

/** A clock that moves one second per call. */
function steppingClock(): () => Date {
  let t = Date.UTC(2025, 0, 2, 10, 0, 0);
  return () => new Date((t += 1000));
}

function frames(pcm: Int16Array): Int16Array[] {
  const out: Int16Array[] = [];
  for (let at = 0; at + 160 <= pcm.length; at += 160) out.push(pcm.slice(at, at + 160));
  return out;
}

describe('CallRecorder', () => {
  it('writes silence on both channels while paused, the audio otherwise, and the spans in the sidecar', async () => {
    const path = join(tempDir(), 'call.wav');
    const recorder = await CallRecorder.start(path, { now: steppingClock() });
    const speech = frames(speechLike(8000, 4));
    const keyed = frames(keySequence('4111111111111111', { toneMs: 60, gapMs: 60, leadMs: 0 }).pcm);
    const agent = frames(speechLike(8000 * 3, 9));
    let a = 0;
    for (const f of speech.slice(0, 25)) recorder.append(f, agent[a++] as Int16Array);
    await recorder.pause();
    // The card number is keyed while paused: on both channels (as if the peer heard it too).
    for (const f of keyed) recorder.append(f, f);
    await recorder.resume();
    for (const f of speech.slice(25, 50)) recorder.append(f, agent[a++] as Int16Array);
    await recorder.stop();
    await recorder.stop();

    const wav = await readWavFile(path);
    expect([wav.channels, wav.sampleRate, wav.encoding]).toEqual([2, 8000, 'pcm16']);
    const left = wav.channel(0);
    const right = wav.channel(1);
    const pauseFrom = 25 * 160;
    const pauseTo = pauseFrom + keyed.length * 160;
    expect(left.length).toBe(pauseTo + 25 * 160);
    expect(left.subarray(pauseFrom, pauseTo).every((v) => v === 0)).toBe(true);
    expect(right.subarray(pauseFrom, pauseTo).every((v) => v === 0)).toBe(true);
    expect(Array.from(left.subarray(0, pauseFrom))).toEqual(Array.from(speechLike(8000, 4).subarray(0, pauseFrom)));
    expect(Array.from(left.subarray(pauseTo))).toEqual(Array.from(speechLike(8000, 4).subarray(pauseFrom, 50 * 160)));
    expect(right.subarray(0, pauseFrom).some((v) => v !== 0)).toBe(true);
    expect(detectKeys(left)).toEqual([]);
    expect(detectKeys(right)).toEqual([]);
    expect(probeHits(left)).toEqual([]);

    const sidecarText = readFileSync(`${path}.json`, 'utf8');
    const sidecar = JSON.parse(sidecarText) as RecordingSidecar;
    expect(sidecar).toEqual({
      format: 'secure-ivr-recording/1',
      recording: 'call.wav',
      sampleRate: 8000,
      channels: ['received', 'sent'],
      startedAt: '2025-01-02T10:00:01.000Z',
      stoppedAt: '2025-01-02T10:00:04.000Z',
      samples: left.length,
      pauses: [{ fromSample: pauseFrom, from: '2025-01-02T10:00:02.000Z', toSample: pauseTo, to: '2025-01-02T10:00:03.000Z' }],
    });
    // Nothing but the timeline: no digit of the number keyed in the pause, no key names.
    expect(sidecarText).not.toMatch(/4111|dtmf|digit|key/i);
    expect(readdirSync(join(path, '..')).sort()).toEqual(['call.wav', 'call.wav.json']);
  });

  it('starts paused when asked, and closes an open pause at stop', async () => {
    const path = join(tempDir(), 'paused.wav');
    const recorder = await CallRecorder.start(path, { paused: true, now: steppingClock() });
    expect(recorder.paused).toBe(true);
    const loud = new Int16Array(160).fill(5000);
    for (let i = 0; i < 5; i++) recorder.append(loud, loud);
    const during = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as RecordingSidecar;
    expect(during.pauses).toEqual([{ fromSample: 0, from: '2025-01-02T10:00:02.000Z', toSample: null, to: null }]);
    await recorder.stop();
    const wav = await readWavFile(path);
    expect(wav.channel(0).every((v) => v === 0)).toBe(true);
    const sidecar = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as RecordingSidecar;
    expect(sidecar.pauses).toEqual([{ fromSample: 0, from: '2025-01-02T10:00:02.000Z', toSample: 800, to: '2025-01-02T10:00:03.000Z' }]);
  });

  it('pause and resume are idempotent', async () => {
    const path = join(tempDir(), 'idem.wav');
    const recorder = await CallRecorder.start(path, { now: steppingClock() });
    await recorder.resume();
    await recorder.pause();
    await recorder.pause();
    await recorder.resume();
    await recorder.resume();
    await recorder.stop();
    expect(recorder.sidecar().pauses).toHaveLength(1);
  });

  it('reports a failed disk write on the next append', async () => {
    let writes = 0;
    const recorder = await CallRecorder.start(join(tempDir(), 'fail.wav'), {
      writer: {
        chunkBytes: 640,
        openFile: async () => ({
          write: async (_b: Buffer, _o: number, length: number) => {
            if (++writes > 1) throw new Error('disk full');
            return { bytesWritten: length };
          },
          close: async () => undefined,
        }),
      },
    });
    const f = new Int16Array(160);
    recorder.append(f, f);
    recorder.append(f, f);
    await new Promise((r) => setTimeout(r, 10));
    expect(() => recorder.append(f, f)).toThrow(WavWriterStateError);
    await expect(recorder.stop()).rejects.toBeInstanceOf(WavWriterStateError);
  });
});
