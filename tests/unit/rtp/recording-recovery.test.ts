import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WavHeaderOffset } from '../../../media-server/embedded/media/wav-format.js';
import type { RecordingSidecar } from '../../../media-server/embedded/rtp/call-recorder.js';
import { recoverInterruptedRecordings } from '../../../media-server/embedded/rtp/recording-recovery.js';
import { writeUnfinishedRecording } from '../../support/recordings.js';

/**
 * Start-up recovery of the recordings a killed process left open, as the
 * disk holds them after kill -9: a WAV whose header says no audio, a
 * sidecar without `stoppedAt`, and, when the kill came during a sidecar
 * write, that write's `.tmp` beside it.
 */
const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function killedRecording(dir: string, name: string, frames: number, openPauseFrom: number | null): RecordingSidecar {
  const pauses = openPauseFrom === null ? [] : [{ fromSample: openPauseFrom, from: '2026-01-01T10:00:01.000Z', toSample: null, to: null }];
  // Three bytes of a frame the kill cut short.
  return writeUnfinishedRecording(dir, name, new Int16Array(frames), pauses, 3);
}

describe('recoverInterruptedRecordings', () => {
  it('sizes the WAV to the whole frames on disk, closes the open pause at its end, and marks the sidecar interrupted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recovery-'));
    folders.push(dir);
    mkdirSync(join(dir, '2026-01-01'));
    killedRecording(join(dir, '2026-01-01'), 'leg_a', 800, 400);
    const recovered = recoverInterruptedRecordings(dir, new Date('2026-01-01T10:05:00.000Z'));
    expect(recovered).toEqual([{ callId: 'leg_a', closedOpenPause: true }]);
    const wav = readFileSync(join(dir, '2026-01-01', 'leg_a.wav'));
    expect(wav.readUInt32LE(WavHeaderOffset.DATA_SIZE)).toBe(800 * 4);
    const sidecar = JSON.parse(readFileSync(join(dir, '2026-01-01', 'leg_a.wav.json'), 'utf8')) as RecordingSidecar & { interrupted?: boolean };
    expect(sidecar).toMatchObject({ stoppedAt: '2026-01-01T10:05:00.000Z', samples: 800, interrupted: true });
    expect(sidecar.pauses).toEqual([{ fromSample: 400, from: '2026-01-01T10:00:01.000Z', toSample: 800, to: '2026-01-01T10:05:00.000Z' }]);
    // A second start finds nothing left open.
    expect(recoverInterruptedRecordings(dir)).toEqual([]);
  });

  it('a sidecar write cut by the kill (its .tmp left beside it) does not stop the start-up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recovery-'));
    folders.push(dir);
    const sidecar = killedRecording(dir, 'leg_b', 160, null);
    writeFileSync(join(dir, 'leg_b.wav.json.tmp'), JSON.stringify(sidecar).slice(0, 40));
    expect(recoverInterruptedRecordings(dir)).toEqual([{ callId: 'leg_b', closedOpenPause: false }]);
  });
});
