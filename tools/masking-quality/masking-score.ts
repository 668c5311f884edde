/**
 * Plays a trial through the real `DtmfMasker` the way a captured card field
 * goes through it in an RTP session (G.711 µ-law in, 20 ms frames, masking
 * on, the app's default options) and scores what the agent receives.
 */
import type { DtmfKey } from '../../domain/dtmf-key.js';
import { DtmfDetector } from '../../media-server/embedded/media/dtmf-detector.js';
import { PCMU } from '../../media-server/embedded/media/g711.js';
import { DtmfMasker, type DtmfMaskerOptions } from '../../media-server/embedded/rtp/dtmf-masker.js';
import { TRIAL_FRAME, type KeyTone, type Trial } from './masking-trial.js';

/**
 * Around a key the masker may replace audio by design (pre-roll, hang-over,
 * the detector's 12.75 ms blocks): frames overlapping [start − 45 ms,
 * end + 80 ms] are not counted as speech.
 */
const GUARD_BEFORE = 45 * 8;
const GUARD_AFTER = 80 * 8;
/** A detector's start sample lies at most one block (102 samples) before the tone. */
const START_TOLERANCE = 110;

export interface MaskingScore {
  readonly seconds: number;
  /** Frames with speech energy and no key near. */
  readonly speechFrames: number;
  /** Of those, frames in which the masker replaced at least one sample. */
  readonly speechFramesReplaced: number;
  readonly keys: number;
  readonly toneMs: number;
  /** Tone that left the masker unchanged (non-zero samples inside a key's tones), ms. */
  readonly leakedMs: number;
  /** Keys with the tones leaking into the output. */
  readonly keysLeaking: number;
  /** Each leaking key, how much leaked and where the first leaked sample lies in its tone. */
  readonly leaks: readonly (KeyTone & { readonly leakedMs: number; readonly firstLeakMs: number })[];
  /** Keys the Q.24 detector hears in what the agent receives (after µ-law). */
  readonly keysHeard: number;
  /** Keys the masker's detector did not report. */
  readonly keysMissed: number;
  /** Extra reports of a key already reported. */
  readonly keysDoubled: number;
  /** Reports that match no key (talk-off, or the wrong key). */
  readonly falseKeys: number;
  /** The keys missed, with their levels and frequency errors. */
  readonly missed: readonly KeyTone[];
  /** Replaced speech frames per utterance, for finding what the probe mistakes for tones. */
  readonly replacedBySegment: readonly number[];
}

/**
 * `maskerOptions` go on top of the defaults the app uses (`mode` and the
 * callbacks excepted), for trying probe settings.
 */
export function scoreMasking(trial: Trial, maskerOptions: DtmfMaskerOptions = {}): MaskingScore {
  const reported: { key: DtmfKey; start: number }[] = [];
  // Two maskers in lockstep, one per mode: they flag the same samples (the
  // mode only chooses what a flagged sample becomes), so a sample left
  // unchanged by both is one the masker passed.
  const tone = new DtmfMasker({ ...maskerOptions, mode: 'tone', onDigitStart: (key, start) => void reported.push({ key, start }) });
  const silence = new DtmfMasker({ ...maskerOptions, mode: 'silence' });
  tone.masking = true;
  silence.masking = true;
  const delay = tone.delaySamples;
  const frames = trial.pcm.length / TRIAL_FRAME + Math.ceil(delay / TRIAL_FRAME);
  const received = new Int16Array(frames * TRIAL_FRAME);
  const heard = new Int16Array(frames * TRIAL_FRAME);
  const passed = new Uint8Array(trial.pcm.length);
  const codes = new Uint8Array(TRIAL_FRAME);
  const frame = new Int16Array(TRIAL_FRAME);
  const toneOut = new Int16Array(TRIAL_FRAME);
  const silenceOut = new Int16Array(TRIAL_FRAME);
  for (let f = 0; f < frames; f++) {
    const at = f * TRIAL_FRAME;
    if (at < trial.pcm.length) PCMU.encode(trial.pcm.subarray(at, at + TRIAL_FRAME), codes);
    else codes.fill(PCMU.silence);
    PCMU.decode(codes, frame);
    received.set(frame, at);
    tone.process(frame, toneOut);
    silence.process(frame, silenceOut);
    // What the agent hears: the tone-mode output through µ-law again.
    PCMU.encode(toneOut, codes);
    PCMU.decode(codes, frame);
    heard.set(frame, at);
    for (let i = 0; i < TRIAL_FRAME; i++) {
      const n = at + i - delay;
      if (n < 0 || n >= passed.length) continue;
      const input = received[n] as number;
      passed[n] = toneOut[i] === input && silenceOut[i] === input ? 1 : 0;
    }
  }

  const guarded = new Uint8Array(trial.speechFrames.length);
  let leaked = 0;
  const leaks: (KeyTone & { leakedMs: number; firstLeakMs: number })[] = [];
  let toneSamples = 0;
  for (const key of trial.keys) {
    const first = Math.max(0, Math.floor((key.start - GUARD_BEFORE) / TRIAL_FRAME));
    const last = Math.min(guarded.length - 1, Math.floor((key.end + GUARD_AFTER - 1) / TRIAL_FRAME));
    guarded.fill(1, first, last + 1);
    let leakedHere = 0;
    let firstLeak = -1;
    for (let n = key.start; n < key.end; n++) {
      if (passed[n] !== 1 || received[n] === 0) continue;
      leakedHere++;
      if (firstLeak < 0) firstLeak = n - key.start;
    }
    leaked += leakedHere;
    if (leakedHere > 0) leaks.push({ ...key, leakedMs: leakedHere / 8, firstLeakMs: firstLeak / 8 });
    toneSamples += key.end - key.start;
  }

  let speechFrames = 0;
  let speechFramesReplaced = 0;
  const replacedBySegment = trial.segments.map(() => 0);
  let segment = 0;
  for (let f = 0; f < trial.speechFrames.length; f++) {
    if (trial.speechFrames[f] !== 1 || guarded[f] === 1) continue;
    speechFrames++;
    let replaced = false;
    for (let n = f * TRIAL_FRAME; n < (f + 1) * TRIAL_FRAME && !replaced; n++) replaced = passed[n] === 0;
    if (!replaced) continue;
    speechFramesReplaced++;
    while (segment < trial.segments.length - 1 && f >= trial.segments[segment]!.endFrame) segment++;
    replacedBySegment[segment]!++;
  }

  const missed: KeyTone[] = [];
  let doubled = 0;
  const matched = new Set<number>();
  for (const key of trial.keys) {
    let reports = 0;
    reported.forEach((r, i) => {
      if (r.key === key.key && r.start >= key.start - START_TOLERANCE && r.start < key.end) {
        reports++;
        matched.add(i);
      }
    });
    if (reports === 0) missed.push(key);
    else doubled += reports - 1;
  }

  const heardKeys: DtmfKey[] = [];
  new DtmfDetector({ onDigitStart: (key) => void heardKeys.push(key) }).process(heard);

  return {
    seconds: trial.pcm.length / 8000,
    speechFrames,
    speechFramesReplaced,
    keys: trial.keys.length,
    toneMs: toneSamples / 8,
    leakedMs: leaked / 8,
    keysLeaking: leaks.length,
    leaks,
    keysHeard: heardKeys.length,
    keysMissed: missed.length,
    missed,
    keysDoubled: doubled,
    falseKeys: reported.length - matched.size,
    replacedBySegment,
  };
}
