/**
 * `npm run masking-quality [-- --out FILE] [-- --quick]`: how much of a
 * caller's speech the DTMF masker replaces while a card field is captured,
 * and how much key tone gets past it.
 *
 * Renders the spoken corpus (tools/masking-quality/spoken-corpus.ts) with
 * espeak-ng and sox into a temporary folder, builds one trial per language ×
 * noise × keys (none, in spec, out of spec), plays each through the masker
 * as an RTP session does, and prints a table; writes the figures as JSON to
 * FILE (default test-artifacts/masking-quality.json). `--quick`: a fifth of
 * the sentences, two voices. Exits 1 when a goal is missed: under 2 % of
 * speech frames replaced, no tone leaked, no key in spec missed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../app/project-root.js';
import { buildTrial, type KeyMixOptions } from '../tools/masking-quality/masking-trial.js';
import { scoreMasking, type MaskingScore } from '../tools/masking-quality/masking-score.js';
import { CORPUS_LANGUAGES, renderCorpus, type CorpusLanguage } from '../tools/masking-quality/spoken-corpus.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(projectRoot(), 'test-artifacts/masking-quality.json') },
    quick: { type: 'boolean', default: false },
  },
});

/** "A little noise": white noise 25 dB under the speech. */
const NOISE_DB = 25;
/**
 * In spec: what a phone sends (Q.24: each tone −25 dBm0, twist within the
 * receiver's limits, ±1.5 %, 40–100 ms) at 20 dB SNR; every key must be
 * heard and none may leak. Out of spec: quieter, more twisted, further off
 * frequency, shorter, noisier; the detector may reject them, but they must
 * not leak either (a lenient ear could still decode them).
 */
const KEY_SETS = {
  none: undefined,
  'in spec': { levelDbm0: -25, snrDb: 20 },
  'out of spec': { levelDbm0: -30, snrDb: 15, twistDb: [-10, 10], maxDeviation: 0.025, toneMs: [15, 100] },
} as const satisfies Record<string, KeyMixOptions | undefined>;
type KeySet = keyof typeof KEY_SETS;
const GOAL_REPLACED_SHARE = 0.02;

interface Row extends MaskingScore {
  readonly language: CorpusLanguage;
  readonly noise: boolean;
  readonly keySet: KeySet;
  readonly speechLevelDbm0: number;
  readonly replacedShare: number;
  readonly worst: readonly { voice: string; text: string; framesReplaced: number }[];
}

const work = mkdtempSync(join(tmpdir(), 'masking-quality-'));
const started = performance.now();
let utterances;
try {
  utterances = await renderCorpus(work, values.quick ? { sentences: [0, 3, 10, 12, 14], voices: [0, 2] } : {});
} finally {
  rmSync(work, { recursive: true, force: true });
}
const renderedMs = performance.now() - started;

const rows: Row[] = [];
let seed = 1;
for (const language of CORPUS_LANGUAGES) {
  const spoken = utterances.filter((u) => u.language === language);
  for (const noise of [false, true]) {
    for (const keySet of Object.keys(KEY_SETS) as KeySet[]) {
      const keys = KEY_SETS[keySet];
      const trial = buildTrial(spoken, {
        seed: seed++,
        ...(noise ? { noiseDb: NOISE_DB } : {}),
        ...(keys ? { keys } : {}),
      });
      const score = scoreMasking(trial);
      const worst = trial.segments
        .map((s, i) => ({ voice: s.voice, text: s.text, framesReplaced: score.replacedBySegment[i] ?? 0 }))
        .filter((s) => s.framesReplaced > 0)
        .sort((a, b) => b.framesReplaced - a.framesReplaced)
        .slice(0, 5);
      rows.push({
        language,
        noise,
        keySet,
        speechLevelDbm0: Math.round(trial.speechLevelDbm0 * 10) / 10,
        ...score,
        replacedShare: score.speechFrames > 0 ? score.speechFramesReplaced / score.speechFrames : 0,
        worst,
      });
    }
  }
}

const sum = (pick: (r: Row) => number): number => rows.reduce((n, r) => n + pick(r), 0);
const total = {
  speechFrames: sum((r) => r.speechFrames),
  speechFramesReplaced: sum((r) => r.speechFramesReplaced),
  keys: sum((r) => r.keys),
  toneMs: sum((r) => r.toneMs),
  leakedMs: sum((r) => r.leakedMs),
  keysHeard: sum((r) => r.keysHeard),
  keysMissed: sum((r) => r.keysMissed),
  keysDoubled: sum((r) => r.keysDoubled),
  falseKeys: sum((r) => r.falseKeys),
};
const goals = {
  speechReplacedUnder2Percent: rows.every((r) => r.replacedShare < GOAL_REPLACED_SHARE),
  noToneLeaked: total.leakedMs === 0 && total.keysHeard === 0,
  noKeyMissedInSpec: rows.every((r) => r.keySet !== 'in spec' || r.keysMissed === 0),
};

const percent = (share: number): string => `${(100 * share).toFixed(2)} %`;
const table = [
  ['language', 'noise', 'keys', 'speech dBm0', 'speech frames', 'replaced', 'keys', 'tone ms', 'leaked ms', 'heard', 'missed', 'doubled', 'false'],
  ...rows.map((r) => [
    r.language,
    r.noise ? `${NOISE_DB} dB` : 'none',
    r.keySet,
    String(r.speechLevelDbm0),
    String(r.speechFrames),
    `${r.speechFramesReplaced} (${percent(r.replacedShare)})`,
    String(r.keys),
    r.toneMs.toFixed(0),
    r.leakedMs.toFixed(1),
    String(r.keysHeard),
    String(r.keysMissed),
    String(r.keysDoubled),
    String(r.falseKeys),
  ]),
  [
    'all', '', '', '',
    String(total.speechFrames),
    `${total.speechFramesReplaced} (${percent(total.speechFramesReplaced / Math.max(1, total.speechFrames))})`,
    String(total.keys), total.toneMs.toFixed(0), total.leakedMs.toFixed(1), String(total.keysHeard),
    String(total.keysMissed), String(total.keysDoubled), String(total.falseKeys),
  ],
];
const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
for (const [i, row] of table.entries()) {
  console.log(row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  if (i === 0 || i === table.length - 2) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
for (const [name, keys] of Object.entries(KEY_SETS)) if (keys) console.log(`keys ${name}: ${JSON.stringify(keys)}`);
console.log(
  `${utterances.length} utterances (espeak-ng ${CORPUS_LANGUAGES.join(', ')}), rendered in ${(renderedMs / 1000).toFixed(1)} s; ` +
    `measured in ${((performance.now() - started - renderedMs) / 1000).toFixed(1)} s`,
);
console.log(
  `goals: speech replaced < 2 % ${goals.speechReplacedUnder2Percent ? 'met' : 'MISSED'}; ` +
    `no tone leaked ${goals.noToneLeaked ? 'met' : 'MISSED'}; no key in spec missed ${goals.noKeyMissedInSpec ? 'met' : 'MISSED'}`,
);

const out = resolve(values.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      command: `npm run masking-quality${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      generatedAt: new Date().toISOString(),
      utterances: utterances.length,
      noiseDb: NOISE_DB,
      keySets: KEY_SETS,
      rows,
      total,
      goals,
    },
    null,
    2,
  )}\n`,
);
console.log(`figures written to ${out}`);
process.exit(Object.values(goals).every(Boolean) ? 0 : 1);
