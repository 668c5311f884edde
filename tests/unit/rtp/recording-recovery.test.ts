import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WAV_PCM_HEADER_LENGTH, WavHeaderOffset, writePcm16WavHeader } from '../../../media-server/embedded/media/wav-format.js';
import type { RecordingSidecar } from '../../../media-server/embedded/rtp/call-recorder.js';
import { recoverInterruptedRecordings } from '../../../media-server/embedded/rtp/recording-recovery.js';

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
  const file = Buffer.alloc(WAV_PCM_HEADER_LENGTH + frames * 4 + 3);
  writePcm16WavHeader(file, 8000, 2, 0);
  writeFileSync(join(dir, `${name}.wav`), file);
  const sidecar: RecordingSidecar = {
    format: 'secure-ivr-recording/1',
    recording: `${name}.wav`,
    sampleRate: 8000,
    channels: ['received', 'sent'],
    startedAt: '2026-01-01T10:00:00.000Z',
    stoppedAt: null,
    samples: 0,
    pauses: openPauseFrom === null ? [] : [{ fromSample: openPauseFrom, from: '2026-01-01T10:00:01.000Z', toSample: null, to: null }],
  };
  writeFileSync(join(dir, `${name}.wav.json`), JSON.stringify(sidecar));
  return sidecar;
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
