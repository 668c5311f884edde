import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SHIPPED_FILES } from '../../../app/shipped-files.js';
import { writePcm16WavHeader, WAV_PCM_HEADER_LENGTH } from '../../../media-server/embedded/media/wav-format.js';
import { MissingPromptError, PromptCatalogue, UnplayablePromptError } from '../../../ivr/prompts/prompt-catalogue.js';
import { PROMPT_LANGUAGES } from '../../../ivr/prompts/prompt-texts.js';

/** A 16-bit PCM WAV of `ms` of silence. */
function silenceWav(sampleRate: number, channels: number, ms: number): Buffer {
  const dataBytes = Math.round((sampleRate * ms) / 1000) * channels * 2;
  const buf = Buffer.alloc(WAV_PCM_HEADER_LENGTH + dataBytes);
  writePcm16WavHeader(buf, sampleRate, channels, dataBytes);
  return buf;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the shipped recordings, as an operator's PROMPTS_DIR would start. */
function promptsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'prompts-'));
  dirs.push(dir);
  cpSync(SHIPPED_FILES.promptAudioDir, dir, { recursive: true });
  return dir;
}

describe('PromptCatalogue.verify', () => {
  it('accepts the shipped recordings of every language', () => {
    for (const language of PROMPT_LANGUAGES) expect(() => new PromptCatalogue(language, SHIPPED_FILES.promptAudioDir).verify()).not.toThrow();
  });

  it('names a missing recording', () => {
    const dir = promptsCopy();
    unlinkSync(join(dir, 'en-GB/amount-is.wav'));
    const err = (() => {
      try {
        new PromptCatalogue('en-GB', dir).verify();
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MissingPromptError);
    expect((err as Error).message).toBe(`prompt recording missing: ${join(dir, 'en-GB/amount-is.wav')}`);
    expect(() => new PromptCatalogue('fr-FR', dir).verify()).not.toThrow();
  });

  it.each([
    ['a 16 kHz recording', silenceWav(16_000, 1, 500), /sample rate 16000 Hz, expected 8000 Hz/],
    ['a stereo recording', silenceWav(8000, 2, 500), /2 channels, expected 1/],
    ['an empty recording', silenceWav(8000, 1, 0), /no audio/],
    ['an MP3 named .wav', Buffer.from('ID3\u0004\u0000\u0000\u0000\u0000\u0000\u0000 not a wave file'), /not a RIFF file/],
  ])('refuses %s, naming the file and the format it needs', (_what, bytes, problem) => {
    const dir = promptsCopy();
    const file = join(dir, 'fr-FR/amount-is.wav');
    writeFileSync(file, bytes);
    const verify = (): void => new PromptCatalogue('fr-FR', dir).verify();
    expect(verify).toThrow(UnplayablePromptError);
    expect(verify).toThrow(problem);
    expect(verify).toThrow(`prompt recording unplayable: ${file}: `);
  });

  it('takes an 8 kHz mono 16-bit PCM recording of the operator', () => {
    const dir = promptsCopy();
    writeFileSync(join(dir, 'fr-FR/amount-is.wav'), silenceWav(8000, 1, 300));
    expect(() => new PromptCatalogue('fr-FR', dir).verify()).not.toThrow();
  });
});
