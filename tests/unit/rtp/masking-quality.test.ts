import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWav } from '../../../media-server/embedded/media/wav-reader.js';
import { buildTrial, type KeyMixOptions } from '../../../tools/masking-quality/masking-trial.js';
import { scoreMasking } from '../../../tools/masking-quality/masking-score.js';
import { CORPUS_LANGUAGES, renderCorpus, type CorpusLanguage, type Utterance } from '../../../tools/masking-quality/spoken-corpus.js';

/**
 * A fast slice of `npm run masking-quality`: the sentences fullest of /aɪ/
 * and /a/ (what the probe used to take for tones) in two voices per
 * language, rendered with espeak-ng and sox, plus the shipped prompts the
 * old probe ate most of, through the real masker.
 */
const SENTENCES = [3, 10, 12, 14];
const VOICES = [0, 2];
const PROMPTS: Record<CorpusLanguage, readonly string[]> = {
  en: ['en-GB/goodbye.wav', 'en-GB/letter-I.wav', 'en-GB/letter-Y.wav', 'en-GB/number-9.wav'],
  fr: ['fr-FR/letter-A.wav', 'fr-FR/number-1.wav', 'fr-FR/letter-K.wav'],
};
const IN_SPEC: KeyMixOptions = { levelDbm0: -25, snrDb: 20 };
const OUT_OF_SPEC: KeyMixOptions = { levelDbm0: -30, snrDb: 15, twistDb: [-10, 10], maxDeviation: 0.025, toneMs: [15, 100] };

let utterances: Utterance[] = [];
const dir = mkdtempSync(join(tmpdir(), 'masking-quality-test-'));

beforeAll(async () => {
  utterances = await renderCorpus(dir, { sentences: SENTENCES, voices: VOICES });
  for (const language of CORPUS_LANGUAGES) {
    for (const prompt of PROMPTS[language]) {
      const pcm = parseWav(readFileSync(join('ivr/prompts/audio', prompt)), { sampleRate: 8000, channels: 1 }).channel(0);
      utterances.push({ language, voice: 'shipped prompt', text: prompt, pcm });
    }
  }
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(CORPUS_LANGUAGES.map((l) => [l]))('DtmfMasker on spoken %s', (language) => {
  const spoken = (): Utterance[] => utterances.filter((u) => u.language === language);

  it.each([
    { name: 'clean', noiseDb: undefined },
    { name: 'in a little noise', noiseDb: 25 },
  ])('replaces under 2 percent of the speech frames, $name', ({ noiseDb }) => {
    const score = scoreMasking(buildTrial(spoken(), { seed: 7, ...(noiseDb !== undefined ? { noiseDb } : {}) }));
    expect(score.speechFrames).toBeGreaterThan(500);
    expect(score.speechFramesReplaced / score.speechFrames).toBeLessThan(0.02);
    expect(score.falseKeys).toBe(0);
  });

  it('hears every key at −25 dBm0 and 20 dB SNR, lets none leak, and keeps the speech between them', () => {
    const score = scoreMasking(buildTrial(spoken(), { seed: 8, noiseDb: 25, keys: IN_SPEC }));
    expect(score.keys).toBeGreaterThan(40);
    expect(score.keysMissed).toBe(0);
    expect(score.keysDoubled).toBe(0);
    expect(score.falseKeys).toBe(0);
    expect(score.leaks).toEqual([]);
    expect(score.keysHeard).toBe(0);
    expect(score.speechFramesReplaced / score.speechFrames).toBeLessThan(0.02);
  });

  it('lets no tone leak that the detector may reject: quieter, twisted to 10 dB, 2.5 % off, 15 ms, 15 dB SNR', () => {
    const score = scoreMasking(buildTrial(spoken(), { seed: 9, noiseDb: 25, keys: OUT_OF_SPEC }));
    expect(score.keys).toBeGreaterThan(40);
    expect(score.leaks).toEqual([]);
    expect(score.keysHeard).toBe(0);
  });
});
