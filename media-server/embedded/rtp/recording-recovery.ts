import { closeSync, type Dirent, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { WAV_PCM_HEADER_LENGTH, WavHeaderOffset } from '../media/wav-format.js';
import type { RecordingSidecar } from './call-recorder.js';

/** Stereo 16-bit: bytes per sample frame. */
const FRAME_BYTES = 4;

export interface RecoveredRecording {
  /** The WAV file's name without `.wav`: the media server's call id. */
  readonly callId: string;
  /** A pause was open when the process died: it now ends where the file does. */
  readonly closedOpenPause: boolean;
}

/**
 * Closes the recordings a crashed process left open: each sidecar without
 * `stoppedAt` gets its WAV header patched to the samples on disk, an open
 * pause closed at the end of the file (the recorder wrote silence in it up to
 * the crash, so nothing keyed is there), and `stoppedAt` set, flagged
 * `interrupted`. Run at start-up, before any new call is recorded.
 */
export function recoverInterruptedRecordings(dir: string, now: Date = new Date()): RecoveredRecording[] {
  const recovered: RecoveredRecording[] = [];
  for (const sidecarPath of recordingSidecars(dir)) {
    let sidecar: RecordingSidecar & { interrupted?: boolean };
    try {
      sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8')) as RecordingSidecar;
    } catch {
      continue;
    }
    if (sidecar.stoppedAt !== null) continue;
    const wavPath = join(sidecarPath, '..', sidecar.recording);
    const samples = patchWavSizes(wavPath);
    const openPause = sidecar.pauses.some((p) => p.toSample === null);
    const closed: RecordingSidecar & { interrupted: true } = {
      ...sidecar,
      stoppedAt: now.toISOString(),
      samples,
      pauses: sidecar.pauses.map((p) => (p.toSample === null ? { ...p, toSample: samples, to: now.toISOString() } : p)),
      interrupted: true,
    };
    const temporary = `${sidecarPath}.tmp`;
    writeFileSync(temporary, JSON.stringify(closed, null, 2), { mode: 0o600 });
    renameSync(temporary, sidecarPath);
    recovered.push({ callId: sidecar.recording.replace(/\.wav$/, ''), closedOpenPause: openPause });
  }
  return recovered;
}

/** Writes the RIFF and data sizes of the whole frames on disk; returns samples per channel. */
function patchWavSizes(path: string): number {
  const sizes = unfinishedWavSizes(statSync(path).size);
  const fd = openSync(path, 'r+');
  try {
    const field = Buffer.alloc(4);
    field.writeUInt32LE(sizes.riffSize);
    writeSync(fd, field, 0, 4, WavHeaderOffset.RIFF_SIZE);
    field.writeUInt32LE(sizes.dataBytes);
    writeSync(fd, field, 0, 4, WavHeaderOffset.DATA_SIZE);
  } finally {
    closeSync(fd);
  }
  return sizes.samples;
}

/**
 * The header sizes of a recording whose writer never closed it (its header
 * still says no audio): the whole stereo frames that reached the disk.
 */
export function unfinishedWavSizes(fileLength: number): { riffSize: number; dataBytes: number; samples: number } {
  const samples = Math.max(0, Math.floor((fileLength - WAV_PCM_HEADER_LENGTH) / FRAME_BYTES));
  const dataBytes = samples * FRAME_BYTES;
  return { riffSize: WAV_PCM_HEADER_LENGTH - 8 + dataBytes, dataBytes, samples };
}

/** A copy of an unfinished recording's bytes with its header sized to the frames on disk. */
export function finishedInMemory(wav: Buffer): Buffer {
  const sizes = unfinishedWavSizes(wav.length);
  const copy = Buffer.from(wav.subarray(0, WAV_PCM_HEADER_LENGTH + sizes.dataBytes));
  copy.writeUInt32LE(sizes.riffSize, WavHeaderOffset.RIFF_SIZE);
  copy.writeUInt32LE(sizes.dataBytes, WavHeaderOffset.DATA_SIZE);
  return copy;
}

/**
 * Every recording sidecar (`*.wav.json`) under `dir`, at any depth; none if
 * `dir` does not exist. Read from the listing's entry types, never by a stat
 * per name: a process killed while writing a sidecar leaves its `.tmp`
 * beside it, which the recovery of that sidecar then renames away while the
 * listing still names it.
 */
export function* recordingSidecars(dir: string): Generator<string> {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* recordingSidecars(full);
    else if (entry.isFile() && entry.name.endsWith('.wav.json')) yield full;
  }
}
