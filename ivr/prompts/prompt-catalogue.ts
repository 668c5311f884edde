import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AudioItem } from '../../media-server/media-server-port.js';
import { parseWav, PROMPT_WAV } from '../../media-server/embedded/media/wav-reader.js';
import type { PromptItem } from '../flow/flow-types.js';
import { PROMPT_TEXTS, type PromptLanguage } from './prompt-texts.js';
import { amountFragments, characterFragments, FRAGMENT_TEXTS } from './spoken-values.js';

/** A prompt or fragment with no recording: a build problem, caught at start-up. */
export class MissingPromptError extends Error {
  override readonly name = 'MissingPromptError';
}

/** A recording the media server cannot play (not a WAV, or not 8 kHz mono 16-bit PCM or G.711): caught at start-up. */
export class UnplayablePromptError extends Error {
  override readonly name = 'UnplayablePromptError';
}

/** Pause after a whole sentence, so prompts do not run into each other. */
const SENTENCE_GAP: AudioItem = { silenceMs: 120 };

/**
 * Turns the flow's prompt items into the audio files of one language:
 * recorded prompts as they are, amounts and references by concatenating
 * fragments (ivr/prompts/spoken-values.ts).
 */
export class PromptCatalogue {
  readonly language: PromptLanguage;
  readonly #dir: string;

  /** `audioRoot` holds one folder of recordings per language (ivr/prompts/audio as shipped). */
  constructor(language: PromptLanguage, audioRoot: string) {
    this.language = language;
    this.#dir = join(audioRoot, language);
  }

  /**
   * Checks every recording is there and playable, 8 kHz mono WAV in 16-bit
   * PCM or G.711 (what both media servers play as is), with some audio; call
   * at start-up. The first problem is thrown, naming the file.
   */
  verify(): void {
    const ids = [...Object.keys(PROMPT_TEXTS[this.language]), ...Object.keys(FRAGMENT_TEXTS[this.language])];
    const missing = ids.filter((id) => !existsSync(this.#file(id)));
    if (missing.length > 0) {
      const more = missing.length > 1 ? ` (and ${missing.length - 1} more of the ${ids.length} ${this.language} recordings)` : '';
      throw new MissingPromptError(`prompt recording missing: ${this.#file(missing[0] as string)}${more}`);
    }
    for (const id of ids) {
      const file = this.#file(id);
      let problem: string | undefined;
      try {
        if (parseWav(readFileSync(file), PROMPT_WAV).frameCount === 0) problem = 'no audio in its data chunk';
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
      if (problem) throw new UnplayablePromptError(`prompt recording unplayable: ${file}: ${problem} (8 kHz mono WAV, 16-bit PCM or G.711)`);
    }
  }

  resolve(items: readonly PromptItem[]): AudioItem[] {
    const out: AudioItem[] = [];
    for (const item of items) {
      if ('prompt' in item) {
        out.push({ file: this.#file(item.prompt) }, SENTENCE_GAP);
      } else if (item.say === 'amount') {
        for (const id of amountFragments(item.amountMinor, item.currency, this.language)) out.push({ file: this.#file(id) });
        out.push(SENTENCE_GAP);
      } else {
        for (const id of characterFragments(item.value)) out.push({ file: this.#file(id) }, { silenceMs: 60 });
        out.push(SENTENCE_GAP);
      }
    }
    return out;
  }

  #file(id: string): string {
    return join(this.#dir, `${id}.wav`);
  }
}
