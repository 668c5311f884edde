import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DTMF_BLOCK_SIZE,
  DtmfDetector,
  dtmfToneEnergyPresent,
  type DtmfDetectorOptions,
} from '../../../media-server/embedded/media/dtmf-detector.js';
import { DTMF_KEYS, type DtmfKey } from '../../../domain/dtmf-key.js';
import { PCMA, PCMU } from '../../../media-server/embedded/media/g711.js';
import { ToneGenerator, type DtmfToneOptions } from '../../../media-server/embedded/media/tone-generator.js';
import { parseWav } from '../../../media-server/embedded/media/wav-reader.js';

const MS = 8;

/** A piece of test audio: a key's tones, or silence when `key` is absent. */
interface Segment {
  readonly key?: DtmfKey;
  readonly ms: number;
  readonly tone?: DtmfToneOptions;
}

function render(segments: readonly Segment[], leadSamples = 0): Int16Array {
  const total = leadSamples + segments.reduce((n, s) => n + Math.round(s.ms * MS), 0);
  const pcm = new Int16Array(total);
  let at = leadSamples;
  for (const s of segments) {
    const n = Math.round(s.ms * MS);
    if (s.key) ToneGenerator.dtmf(s.key, s.tone).fill(pcm, at, n);
    at += n;
  }
  return pcm;
}

interface Detection {
  readonly key: DtmfKey;
  readonly start: number;
  end?: number;
  /** samplesProcessed when the start was reported. */
  readonly reportedAt: number;
}

function detect(pcm: Int16Array, frame = 160, options: DtmfDetectorOptions = {}): Detection[] {
  const found: Detection[] = [];
  const detector: DtmfDetector = new DtmfDetector({
    ...options,
    onDigitStart: (key, start) => found.push({ key, start, reportedAt: detector.samplesProcessed }),
    onDigitEnd: (key, start, end) => {
      const last = found[found.length - 1];
      expect(last).toMatchObject({ key, start });
      if (last) last.end = end;
    },
  });
  for (let i = 0; i < pcm.length; i += frame) detector.process(pcm, i, Math.min(frame, pcm.length - i));
  // Flush a key still on at the end of the input.
  detector.process(new Int16Array(4 * DTMF_BLOCK_SIZE));
  return found;
}

function keys(pcm: Int16Array, options?: DtmfDetectorOptions): string {
  return detect(pcm, 160, options)
    .map((d) => d.key)
    .join('');
}

function throughG711(pcm: Int16Array, codec: typeof PCMU): Int16Array {
  const codes = new Uint8Array(pcm.length);
  codec.encode(pcm, codes);
  const out = new Int16Array(pcm.length);
  codec.decode(codes, out);
  return out;
}

/** Deterministic white noise (xorshift32), uniform in ±peak. */
function noise(samples: number, peak: number, seed = 12345): Int16Array {
  let state = seed;
  return Int16Array.from({ length: samples }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return Math.round(((state >>> 0) / 0xffffffff - 0.5) * 2 * peak);
  });
}

describe('DtmfDetector accepts', () => {
  it.each([-3, -10, -20, -25])('every key at %s dBm0 per tone, at 40, 60 and 100 ms, exactly once', (level) => {
    for (const key of DTMF_KEYS) {
      for (const ms of [40, 60, 100]) {
        const pcm = render([{ ms: 50 }, { key, ms, tone: { lowLevelDbm0: level, highLevelDbm0: level } }, { ms: 50 }], 37);
        const found = detect(pcm);
        expect(found.map((d) => d.key), `${key} ${ms} ms`).toEqual([key]);
        const start = 37 + 50 * MS;
        const end = start + ms * MS;
        expect(Math.abs((found[0] as Detection).start - start)).toBeLessThanOrEqual(DTMF_BLOCK_SIZE);
        expect(Math.abs(((found[0] as Detection).end as number) - end)).toBeLessThanOrEqual(DTMF_BLOCK_SIZE);
      }
    }
  });

  it.each([
    ['µ-law', PCMU],
    ['A-law', PCMA],
  ] as const)('every key after a %s round trip', (_law, codec) => {
    for (const key of DTMF_KEYS) {
      expect(keys(throughG711(render([{ key, ms: 50, tone: { lowLevelDbm0: -24, highLevelDbm0: -24 } }, { ms: 50 }]), codec))).toBe(key);
    }
  });

  it('a 40 ms tone whatever its alignment with the 102-sample blocks', () => {
    for (let lead = 0; lead < DTMF_BLOCK_SIZE; lead++) {
      expect(keys(render([{ key: '5', ms: 40 }, { ms: 50 }], lead)), `lead ${lead}`).toBe('5');
    }
  });

  it('each tone off by ±1.5 % (Q.24 must-accept), every key', () => {
    for (const key of DTMF_KEYS) {
      for (const deviation of [0.015, -0.015]) {
        expect(keys(render([{ key, ms: 50, tone: { lowDeviation: deviation } }, { ms: 50 }])), `${key} low ${deviation}`).toBe(key);
        expect(keys(render([{ key, ms: 50, tone: { highDeviation: deviation } }, { ms: 50 }])), `${key} high ${deviation}`).toBe(key);
        expect(keys(render([{ key, ms: 50, tone: { lowDeviation: deviation, highDeviation: -deviation } }, { ms: 50 }]))).toBe(key);
      }
    }
  });

  it('normal twist of 7 dB and reverse twist of 3 dB', () => {
    for (const key of DTMF_KEYS) {
      expect(keys(render([{ key, ms: 50, tone: { lowLevelDbm0: -6, highLevelDbm0: -13 } }]))).toBe(key);
      expect(keys(render([{ key, ms: 50, tone: { lowLevelDbm0: -13, highLevelDbm0: -10 } }]))).toBe(key);
    }
  });

  it('a key in white noise 15 dB below the tone pair', () => {
    // Two tones at −10 dBm0 (peak 7203 each) carry 5.19e7; uniform noise of peak p carries p²/3.
    const pcm = render([{ ms: 100 }, { key: '3', ms: 60 }, { ms: 100 }]);
    const hiss = noise(pcm.length, Math.sqrt((3 * 5.19e7) / 10 ** 1.5));
    expect(keys(pcm.map((x, i) => x + (hiss[i] as number)))).toBe('3');
  });

  it('a card number keyed at 50 ms on, 50 ms off, any frame size', () => {
    // Stripe's public Visa test number.
    const digits = '4242424242424242#';
    const pcm = render([...digits].flatMap((key) => [{ key: key as DtmfKey, ms: 50 }, { ms: 50 }]));
    for (const frame of [1, 7, 80, 160, 1000, pcm.length]) {
      expect(detect(pcm, frame).map((d) => d.key).join(''), `frame ${frame}`).toBe(digits);
    }
  });

  it('the same key twice across a 40 ms pause, but once across a 10 ms break', () => {
    for (let lead = 0; lead < DTMF_BLOCK_SIZE; lead += 3) {
      expect(keys(render([{ key: '7', ms: 60 }, { ms: 40 }, { key: '7', ms: 60 }, { ms: 40 }], lead)), `pause, lead ${lead}`).toBe('77');
      expect(keys(render([{ key: '7', ms: 60 }, { ms: 10 }, { key: '7', ms: 60 }, { ms: 40 }], lead)), `break, lead ${lead}`).toBe('7');
    }
  });

  it('rolled keys: a different key straight after another', () => {
    expect(keys(render([{ key: '1', ms: 60 }, { key: '9', ms: 60 }, { ms: 40 }]))).toBe('19');
  });

  it('reports the start within three blocks of the tone starting and tells a masker it is coming', () => {
    const lead = 400;
    const pcm = render([{ key: '#', ms: 80 }, { ms: 50 }], lead);
    const [found] = detect(pcm, 1);
    expect((found as Detection).reportedAt - lead).toBeLessThanOrEqual(3 * DTMF_BLOCK_SIZE);

    const activities: string[] = [];
    const detector = new DtmfDetector();
    for (let i = 0; i < pcm.length; i += DTMF_BLOCK_SIZE) {
      detector.process(pcm, i, Math.min(DTMF_BLOCK_SIZE, pcm.length - i));
      if (activities[activities.length - 1] !== detector.activity) activities.push(detector.activity);
      if (detector.activity === 'digit') expect(detector.currentKey).toBe('#');
    }
    expect(activities).toEqual(['idle', 'tone', 'digit', 'idle']);
  });
});

describe('DtmfDetector rejects', () => {
  it('tones of 20 and 23 ms whatever their alignment (Q.24 / Bellcore non-operate)', () => {
    for (let lead = 0; lead < DTMF_BLOCK_SIZE; lead++) {
      expect(keys(render([{ key: '5', ms: 20 }, { ms: 50 }], lead))).toBe('');
      expect(keys(render([{ key: '5', ms: 23 }, { ms: 50 }], lead))).toBe('');
    }
  });

  it('each tone off by ±3.5 % or more (Q.24 must-reject), every key', () => {
    for (const key of DTMF_KEYS) {
      for (const deviation of [0.035, -0.035, 0.05, -0.05]) {
        expect(keys(render([{ key, ms: 80, tone: { lowDeviation: deviation } }])), `${key} low ${deviation}`).toBe('');
        expect(keys(render([{ key, ms: 80, tone: { highDeviation: deviation } }])), `${key} high ${deviation}`).toBe('');
      }
    }
  });

  it('normal twist of 10 dB and reverse twist of 6 dB', () => {
    for (const key of DTMF_KEYS) {
      expect(keys(render([{ key, ms: 80, tone: { lowLevelDbm0: -5, highLevelDbm0: -15 } }]))).toBe('');
      expect(keys(render([{ key, ms: 80, tone: { lowLevelDbm0: -14, highLevelDbm0: -8 } }]))).toBe('');
    }
  });

  it('tones below the minimum level (−35 dBm0 each with the −30 default)', () => {
    expect(keys(render([{ key: '8', ms: 80, tone: { lowLevelDbm0: -35, highLevelDbm0: -35 } }]))).toBe('');
    expect(keys(render([{ key: '8', ms: 80, tone: { lowLevelDbm0: -35, highLevelDbm0: -35 } }]), { minToneLevelDbm0: -40 })).toBe('8');
  });

  it('a key buried in noise 9 dB below it', () => {
    const pcm = render([{ key: '3', ms: 100 }]);
    const hiss = noise(pcm.length, Math.sqrt((3 * 5.19e7) / 10 ** 0.9));
    expect(keys(pcm.map((x, i) => x + (hiss[i] as number)))).toBe('');
  });

  it('white noise, a 300–3400 Hz chirp, single tones, three tones and a pair with a strong second harmonic', () => {
    expect(keys(noise(80_000, 20_000))).toBe('');
    const chirp = new Int16Array(40_000);
    for (let n = 0, phase = 0; n < chirp.length; n++) {
      chirp[n] = Math.round(12_000 * Math.sin(phase));
      phase += (2 * Math.PI * (300 + (3100 * n) / chirp.length)) / 8000;
    }
    expect(keys(chirp)).toBe('');
    const tones = (components: { frequencyHz: number; levelDbm0: number }[]): Int16Array => {
      const pcm = new Int16Array(8000);
      new ToneGenerator(components).fill(pcm);
      return pcm;
    };
    expect(keys(tones([{ frequencyHz: 697, levelDbm0: -10 }]))).toBe('');
    expect(keys(tones([{ frequencyHz: 1336, levelDbm0: -10 }]))).toBe('');
    expect(keys(tones([{ frequencyHz: 400, levelDbm0: -10 }]))).toBe('');
    expect(keys(tones([{ frequencyHz: 697, levelDbm0: -10 }, { frequencyHz: 770, levelDbm0: -12 }, { frequencyHz: 1209, levelDbm0: -10 }]))).toBe('');
    // Speech-like: 697 + 1209 Hz, but 697 Hz's second harmonic (1394 Hz) carries energy too.
    expect(keys(tones([{ frequencyHz: 697, levelDbm0: -10 }, { frequencyHz: 1394, levelDbm0: -14 }, { frequencyHz: 1209, levelDbm0: -10 }]))).toBe('');
  });

  it.skipIf(!hasSpeechTools())('synthesized speech (espeak-ng through sox to 8 kHz), at two levels', () => {
    const sentence =
      'Thank you for calling. Please enter your card number, followed by the hash key. ' +
      'One two three four five six seven eight nine zero. Sorry, I did not get that.';
    const dir = mkdtempSync(join(tmpdir(), 'talk-off-'));
    try {
      for (const voice of ['en', 'en-us', 'de', 'fr']) {
        const raw = join(dir, `${voice}.wav`);
        const narrowband = join(dir, `${voice}-8k.wav`);
        execFileSync('espeak-ng', ['-v', voice, '-w', raw, sentence]);
        execFileSync('sox', [raw, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed', narrowband]);
        const speech = parseWav(readFileSync(narrowband), { sampleRate: 8000, channels: 1 }).toPcm16();
        expect(speech.length).toBeGreaterThan(8000 * 5);
        expect(keys(speech), voice).toBe('');
        expect(keys(speech.map((x) => Math.max(-32768, Math.min(32767, 4 * x)))), `${voice} +12 dB`).toBe('');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function hasSpeechTools(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v espeak-ng && command -v sox'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('dtmfToneEnergyPresent (masker look-ahead)', () => {
  it('sees a key in a single 20 ms frame, even off-frequency and quiet', () => {
    for (const key of DTMF_KEYS) {
      expect(dtmfToneEnergyPresent(render([{ key, ms: 20 }]))).toBe(true);
      expect(dtmfToneEnergyPresent(render([{ key, ms: 20, tone: { lowDeviation: 0.015, lowLevelDbm0: -30, highLevelDbm0: -30 } }]))).toBe(true);
    }
  });

  it('sees nothing in silence, noise, a single tone or the 400 Hz masking tone', () => {
    expect(dtmfToneEnergyPresent(new Int16Array(160))).toBe(false);
    expect(dtmfToneEnergyPresent(noise(160, 10_000))).toBe(false);
    const single = new Int16Array(160);
    ToneGenerator.single(941, -10).fill(single);
    expect(dtmfToneEnergyPresent(single)).toBe(false);
    ToneGenerator.single(400, -20).fill(single);
    expect(dtmfToneEnergyPresent(single)).toBe(false);
  });

  it('looks at a slice of a buffer and checks its bounds', () => {
    const pcm = render([{ ms: 20 }, { key: '0', ms: 20 }]);
    expect(dtmfToneEnergyPresent(pcm, 0, 160)).toBe(false);
    expect(dtmfToneEnergyPresent(pcm, 160, 160)).toBe(true);
    expect(() => dtmfToneEnergyPresent(pcm, 200, 160)).toThrow(RangeError);
  });
});

describe('DtmfDetector housekeeping', () => {
  it('finishes the frame when a handler throws, then rethrows the error', () => {
    const pcm = render([{ key: '1', ms: 60 }, { ms: 40 }, { key: '2', ms: 60 }, { ms: 60 }]);
    const seen: string[] = [];
    const detector = new DtmfDetector({
      onDigitStart: (key) => {
        seen.push(key);
        throw new Error('listener bug');
      },
    });
    expect(() => detector.process(pcm)).toThrow('listener bug');
    expect(seen).toEqual(['1', '2']);
    expect(detector.samplesProcessed).toBe(pcm.length);
  });

  it('forgets a key in progress on reset', () => {
    const ends: string[] = [];
    const detector = new DtmfDetector({ onDigitEnd: (key) => ends.push(key) });
    detector.process(render([{ key: '6', ms: 60 }]));
    expect(detector.currentKey).toBe('6');
    detector.reset();
    expect(detector.activity).toBe('idle');
    expect(detector.samplesProcessed).toBe(0);
    detector.process(new Int16Array(800));
    expect(ends).toEqual([]);
  });

  it('refuses bad options and bad slices', () => {
    expect(() => new DtmfDetector({ maxFrequencyDeviation: 0.06 })).toThrow(RangeError);
    expect(() => new DtmfDetector({ minToneEnergyRatio: 0.4 })).toThrow(RangeError);
    expect(() => new DtmfDetector().process(new Int16Array(10), 5, 6)).toThrow(RangeError);
  });
});
