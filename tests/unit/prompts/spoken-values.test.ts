import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { PROMPT_LANGUAGES, PROMPT_TEXTS } from '../../../ivr/prompts/prompt-texts.js';
import { amountFragments, characterFragments, FRAGMENT_TEXTS, numberFragments } from '../../../ivr/prompts/spoken-values.js';

describe('spoken amounts', () => {
  it('says 42.50 EUR as "quarante-deux euros cinquante" and "forty-two euros fifty"', () => {
    expect(amountFragments(4250, 'EUR', 'fr-FR')).toEqual(['number-42', 'currency-EUR-many', 'number-50']);
    expect(amountFragments(4250, 'GBP', 'en-GB')).toEqual(['number-42', 'currency-GBP-many', 'number-50']);
  });

  it('keeps the singular where each language does, and drops a zero minor part', () => {
    expect(amountFragments(100, 'EUR', 'fr-FR')).toEqual(['number-1', 'currency-EUR-one']);
    expect(amountFragments(50, 'EUR', 'fr-FR')).toEqual(['number-0', 'currency-EUR-one', 'number-50']);
    expect(amountFragments(50, 'GBP', 'en-GB')).toEqual(['number-0', 'currency-GBP-many', 'number-50']);
    expect(amountFragments(19900, 'EUR', 'fr-FR')).toEqual(['word-hundred', 'number-99', 'currency-EUR-many']);
  });

  it('spells an unknown currency and respects zero-decimal currencies', () => {
    expect(amountFragments(1500, 'JPY', 'en-GB')).toEqual(['number-1', 'word-thousand', 'number-5', 'word-hundred', 'letter-J', 'letter-P', 'letter-Y']);
  });
});

describe('spoken numbers', () => {
  it('follows French agreement of cent and mille', () => {
    expect(numberFragments(200, 'fr-FR')).toEqual(['number-2', 'word-hundreds']);
    expect(numberFragments(201, 'fr-FR')).toEqual(['number-2', 'word-hundred', 'number-1']);
    expect(numberFragments(1000, 'fr-FR')).toEqual(['word-thousand']);
    expect(numberFragments(2500, 'fr-FR')).toEqual(['number-2', 'word-thousand', 'number-5', 'word-hundreds']);
  });

  it('says "and" where British English does', () => {
    expect(numberFragments(101, 'en-GB')).toEqual(['number-1', 'word-hundred', 'word-and', 'number-1']);
    expect(numberFragments(1005, 'en-GB')).toEqual(['number-1', 'word-thousand', 'word-and', 'number-5']);
  });

  it('reads references one character at a time', () => {
    expect(characterFragments('a7-k2')).toEqual(['letter-A', 'number-7', 'letter-K', 'number-2']);
    expect(numberFragments(1_234_567, 'en-GB')).toHaveLength(7);
  });
});

describe('recorded prompts', () => {
  it('has a WAV for every prompt and fragment in every language', () => {
    for (const language of PROMPT_LANGUAGES) {
      const ids = [...Object.keys(PROMPT_TEXTS[language]), ...Object.keys(FRAGMENT_TEXTS[language])];
      const missing = ids.filter((id) => !existsSync(join(projectRoot(), 'ivr/prompts/audio', language, `${id}.wav`)));
      expect(missing, language).toEqual([]);
    }
  });
});
