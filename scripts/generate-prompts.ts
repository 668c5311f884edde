/**
 * Records every prompt and spoken-value fragment with espeak-ng and converts
 * it with sox to 8 kHz mono 16-bit PCM WAV under ivr/prompts/audio/<language>/.
 * Run `npm run prompts` after changing a text; the WAV files are committed so
 * `npm start` needs neither tool. `npm run prompts -- --missing` records only
 * prompts that have no file yet (another espeak-ng version renders the
 * existing ones slightly differently: no need to churn them).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../app/project-root.js';
import { PROMPT_LANGUAGES, PROMPT_TEXTS, type PromptLanguage } from '../ivr/prompts/prompt-texts.js';
import { FRAGMENT_TEXTS } from '../ivr/prompts/spoken-values.js';

const VOICES: Record<PromptLanguage, string> = { 'fr-FR': 'fr-fr', 'en-GB': 'en-gb' };
/** Words per minute: brisk but clear over G.711. */
const SPEED = 175;

const onlyMissing = process.argv.includes('--missing');
const work = mkdtempSync(join(tmpdir(), 'prompts-'));
let count = 0;
try {
  for (const language of PROMPT_LANGUAGES) {
    const outDir = join(projectRoot(), 'ivr/prompts/audio', language);
    mkdirSync(outDir, { recursive: true });
    const texts = { ...PROMPT_TEXTS[language], ...FRAGMENT_TEXTS[language] };
    for (const [id, text] of Object.entries(texts)) {
      if (onlyMissing && existsSync(join(outDir, `${id}.wav`))) continue;
      const raw = join(work, `${id}.wav`);
      execFileSync('espeak-ng', ['-v', VOICES[language], '-s', String(SPEED), '-w', raw, text]);
      // Trim leading/trailing silence, normalise to -3 dBFS, resample to telephone rate.
      execFileSync('sox', [
        raw,
        '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer',
        join(outDir, `${id}.wav`),
        'silence', '1', '0.02', '0.5%', 'reverse', 'silence', '1', '0.02', '0.5%', 'reverse',
        'gain', '-n', '-3',
      ]);
      count++;
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(`recorded ${count} prompts`);
