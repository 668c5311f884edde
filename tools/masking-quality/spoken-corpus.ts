/**
 * The spoken sentences the masking-quality measurement plays through the
 * masker: what a caller says while a card field is captured, in both prompt
 * languages, with many of the vowels whose first two formants sit on the
 * DTMF row (697–941 Hz) and column (1209–1633 Hz) groups: /aɪ/ ("I", "my",
 * "nine"), /ɑː/, /ʌ/, /ɔː/, and French /a/, /ɑ̃/, /wa/ ("quatre", "voilà").
 *
 * Rendered at run time with espeak-ng into a temporary folder, then with sox
 * to 8 kHz mono 16-bit through a 300–3400 Hz telephone band-pass (what a
 * caller's line passes); nothing rendered is committed.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseWav } from '../../media-server/embedded/media/wav-reader.js';

const run = promisify(execFile);

export type CorpusLanguage = 'en' | 'fr';

export const CORPUS_LANGUAGES: readonly CorpusLanguage[] = ['en', 'fr'];

export const CORPUS_SENTENCES: Readonly<Record<CorpusLanguage, readonly string[]>> = {
  en: [
    'Hi, I would like to pay my bill, please.',
    'Hang on, I am trying to find my card.',
    'Sorry, which number did you say? Five, nine, or nine five?',
    'I, I, I... hold on a moment, I cannot find it.',
    'My card ends in four, eight, eight, one.',
    'Why is the line so quiet? Are you still there?',
    'Alright, I have got it now, thank you.',
    'Is it the long number on the front, or the three digits on the back?',
    'Could you repeat the amount? Ninety nine pounds?',
    'Our car park is far, but my father pays for it.',
    'Goodbye, and have a nice night.',
    'Oh no, I pressed the wrong button. Can I start again?',
    'The eye, the sky, the high tide, the wide bright light.',
    'Hello? Hello? I can hardly hear you.',
    'A, I, O, Y. Nine, nine, five, five.',
  ],
  fr: [
    "Bonjour, je voudrais payer ma facture, s'il vous plaît.",
    'Attendez, je cherche ma carte bancaire.',
    'Pardon, vous avez dit quatre, huit, ou neuf ?',
    "Ah, voilà, j'ai trouvé, c'est la carte Visa.",
    'Ma carte se termine par cinq, neuf, neuf, deux.',
    'Allô ? Allô ? Je ne vous entends plus très bien.',
    'Il faut taper le numéro au dos de la carte ?',
    "Non, non, j'ai appuyé sur la mauvaise touche.",
    "Quatre-vingt-dix-neuf euros, c'est bien ça ?",
    'Papa a garé la voiture là-bas, à Paris.',
    'Au revoir, et merci beaucoup, bonne journée.',
    'Une seconde, mon mari a la carte dans sa poche.',
    "Oui, oui, d'accord, je vais recommencer.",
    "Ha ha, ça alors, quelle drôle d'histoire !",
    'A, I, O, Y. Quatre, quatre, trois, trois.',
  ],
};

/** An espeak-ng voice with a variant (`+m3`, `+f2`…) and its speaking rate in words per minute. */
export interface CorpusVoice {
  readonly voice: string;
  readonly wordsPerMinute: number;
}

export const CORPUS_VOICES: Readonly<Record<CorpusLanguage, readonly CorpusVoice[]>> = {
  en: [
    { voice: 'en-gb', wordsPerMinute: 175 },
    { voice: 'en-us+m3', wordsPerMinute: 160 },
    { voice: 'en-gb+f2', wordsPerMinute: 185 },
    { voice: 'en-us+f4', wordsPerMinute: 150 },
  ],
  fr: [
    { voice: 'fr', wordsPerMinute: 175 },
    { voice: 'fr+m3', wordsPerMinute: 160 },
    { voice: 'fr+f2', wordsPerMinute: 185 },
    { voice: 'fr-be+f4', wordsPerMinute: 150 },
  ],
};

export interface Utterance {
  readonly language: CorpusLanguage;
  readonly voice: string;
  readonly text: string;
  /** 8 kHz, 16-bit, telephone band, at espeak-ng's own level. */
  readonly pcm: Int16Array;
}

export interface CorpusSelection {
  /** Default both. */
  readonly languages?: readonly CorpusLanguage[];
  /** Sentence indexes to render, each language. Default all. */
  readonly sentences?: readonly number[];
  /** Voice indexes, each language. Default all. */
  readonly voices?: readonly number[];
}

/** Renders every selected sentence in every selected voice into `dir` (which the caller removes). */
export async function renderCorpus(dir: string, selection: CorpusSelection = {}): Promise<Utterance[]> {
  const jobs: { language: CorpusLanguage; voice: CorpusVoice; text: string; file: string }[] = [];
  for (const language of selection.languages ?? CORPUS_LANGUAGES) {
    const sentences = CORPUS_SENTENCES[language];
    const voices = CORPUS_VOICES[language];
    for (const v of selection.voices ?? voices.map((_, i) => i)) {
      for (const s of selection.sentences ?? sentences.map((_, i) => i)) {
        const voice = voices[v];
        const text = sentences[s];
        if (!voice || text === undefined) throw new RangeError(`no sentence ${s} or voice ${v} in ${language}`);
        jobs.push({ language, voice, text, file: join(dir, `${language}-${v}-${s}`) });
      }
    }
  }
  // Two at a time: one espeak-ng and one sox keep two cores busy.
  const utterances: Utterance[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const index = next++;
      const job = jobs[index]!;
      utterances[index] = { language: job.language, voice: job.voice.voice, text: job.text, pcm: await render(job.text, job.voice, job.file) };
    }
  };
  await Promise.all([worker(), worker()]);
  return utterances;
}

async function render(text: string, voice: CorpusVoice, base: string): Promise<Int16Array> {
  const raw = `${base}.espeak.wav`;
  const wav = `${base}.wav`;
  await run('espeak-ng', ['-v', voice.voice, '-s', String(voice.wordsPerMinute), '-w', raw, text]);
  // Trim the silence espeak-ng leaves at each end; telephone band; 8 kHz mono 16-bit.
  await run('sox', [
    '-D', // no dither: the same corpus on every run
    raw,
    '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer',
    wav,
    'silence', '1', '0.02', '0.5%', 'reverse', 'silence', '1', '0.02', '0.5%', 'reverse',
    'sinc', '300-3400',
  ]);
  return parseWav(await readFile(wav), { sampleRate: 8000, channels: 1 }).channel(0);
}
