import { mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WavFileWriter } from '../../../media-server/embedded/media/wav-writer.js';
import { MediaPlayer } from '../../../media-server/embedded/rtp/media-player.js';
import { PromptCache } from '../../../media-server/embedded/rtp/prompt-cache.js';
import { PromptLoadError } from '../../../media-server/embedded/rtp/rtp-errors.js';

function ramp(n: number, from = 1): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => from + i);
}

/** A cache over an in-memory prompt set. */
function memoryCache(prompts: Record<string, Int16Array>, loads: string[] = []): PromptCache {
  return new PromptCache({
    load: async (path) => {
      loads.push(path);
      const name = path.slice(path.lastIndexOf('/') + 1);
      const pcm = prompts[name];
      if (!pcm) throw new Error(`ENOENT ${name}`);
      return pcm;
    },
  });
}

async function settle(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

function pull(player: MediaPlayer, frames: number): Int16Array {
  const out = new Int16Array(frames * 160);
  const frame = new Int16Array(160);
  for (let f = 0; f < frames; f++) {
    player.nextFrame(frame);
    out.set(frame, f * 160);
  }
  return out;
}

describe('MediaPlayer', () => {
  it('plays the items in order, frame by frame, and completes at the frame with the last sample', async () => {
    const player = new MediaPlayer({ cache: memoryCache({ 'a.wav': ramp(200), 'b.wav': ramp(100, 1000) }) });
    let result: string | undefined;
    void player.play([{ file: '/p/a.wav' }, { silenceMs: 10 }, { file: '/p/b.wav' }]).then((r) => (result = r));
    await settle();
    const out = pull(player, 2);
    expect(Array.from(out.subarray(0, 200))).toEqual(Array.from(ramp(200)));
    expect(out.subarray(200, 280).every((v) => v === 0)).toBe(true);
    expect(Array.from(out.subarray(280, 320))).toEqual(Array.from(ramp(40, 1000)));
    expect(result).toBeUndefined();
    const last = pull(player, 1);
    expect(Array.from(last.subarray(0, 60))).toEqual(Array.from(ramp(60, 1040)));
    expect(last.subarray(60).every((v) => v === 0)).toBe(true);
    await settle();
    expect(result).toBe('completed');
    expect(player.playing).toBe(false);
  });

  it('outputs zeros while a play loads and when idle', async () => {
    const player = new MediaPlayer({ cache: memoryCache({}) });
    const frame = new Int16Array(160).fill(7);
    expect(player.nextFrame(frame)).toBe(false);
    expect(frame.every((v) => v === 0)).toBe(true);
  });

  it('stop resolves stopped; a new play stops the current one; close resolves hangup', async () => {
    const player = new MediaPlayer({ cache: memoryCache({ 'long.wav': ramp(8000) }) });
    const first = player.play([{ file: 'long.wav' }], { bargeIn: true });
    await settle();
    expect(player.bargeIn).toBe(true);
    const second = player.play([{ file: 'long.wav' }]);
    expect(player.bargeIn).toBe(false);
    await expect(first).resolves.toBe('stopped');
    player.stop();
    await expect(second).resolves.toBe('stopped');
    const third = player.play([{ silenceMs: 1000 }]);
    player.close();
    await expect(third).resolves.toBe('hangup');
    await expect(player.play([{ silenceMs: 10 }])).resolves.toBe('hangup');
  });

  it('an empty list completes at once', async () => {
    const player = new MediaPlayer({ cache: memoryCache({}) });
    await expect(player.play([])).resolves.toBe('completed');
  });

  it('rejects with PromptLoadError before playing anything when one prompt is missing', async () => {
    const player = new MediaPlayer({ cache: memoryCache({ 'a.wav': ramp(160) }) });
    const play = player.play([{ file: 'a.wav' }, { file: 'missing.wav' }]);
    await expect(play).rejects.toBeInstanceOf(PromptLoadError);
    expect(player.playing).toBe(false);
    await expect(player.play([{ silenceMs: -1 }])).rejects.toBeInstanceOf(RangeError);
  });
});

describe('PromptCache', () => {
  it('decodes a real WAV once and shares it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prompt-'));
    const path = join(dir, 'hello.wav');
    const writer = await WavFileWriter.create(path, { channels: 1 });
    writer.append(ramp(800));
    await writer.close();
    const loads: string[] = [];
    const cache = new PromptCache({
      load: async (p) => {
        loads.push(p);
        const { readWavFile, PROMPT_WAV } = await import('../../../media-server/embedded/media/wav-reader.js');
        return (await readWavFile(p, PROMPT_WAV)).toPcm16();
      },
    });
    const [a, b] = await Promise.all([cache.get(path), cache.get(path)]);
    const c = await cache.get(path);
    expect(a).toBe(b);
    expect(c).toBe(a);
    expect(loads).toEqual([path]);
    expect(Array.from(a.subarray(0, 3))).toEqual([1, 2, 3]);
    expect(cache.bytes).toBe(1600);
  });

  it('rejects a stereo or 16 kHz file with PromptLoadError (default loader)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prompt-'));
    const stereo = await WavFileWriter.create(join(dir, 'stereo.wav'));
    stereo.append(ramp(10), ramp(10));
    await stereo.close();
    await writeFile(join(dir, 'junk.wav'), 'not a wav');
    const cache = new PromptCache();
    await expect(cache.get(join(dir, 'stereo.wav'))).rejects.toBeInstanceOf(PromptLoadError);
    await expect(cache.get(join(dir, 'junk.wav'))).rejects.toBeInstanceOf(PromptLoadError);
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used prompt past maxBytes and does not cache failures', async () => {
    const loads: string[] = [];
    let fail = true;
    const cache = new PromptCache({
      maxBytes: 2 * 320,
      load: async (p) => {
        loads.push(p);
        if (p.endsWith('flaky') && fail) {
          fail = false;
          throw new Error('EIO');
        }
        return new Int16Array(160);
      },
    });
    await cache.get('/a');
    await cache.get('/b');
    await cache.get('/a');
    await cache.get('/c');
    expect(cache.size).toBe(2);
    await cache.get('/a');
    await cache.get('/b');
    expect(loads).toEqual(['/a', '/b', '/c', '/b']);
    await expect(cache.get('/flaky')).rejects.toBeInstanceOf(PromptLoadError);
    await expect(cache.get('/flaky')).resolves.toHaveLength(160);
  });
});
