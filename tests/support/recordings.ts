import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WAV_PCM_HEADER_LENGTH, writePcm16WavHeader } from '../../media-server/embedded/media/wav-format.js';
import type { RecordingPauseSpan, RecordingSidecar } from '../../media-server/embedded/rtp/call-recorder.js';

/** The WAV of a call in a system's DATA_DIR (recordings/<day>/<callId>.wav); throws if there is none. */
export function recordingOf(dataDir: string, callId: string): string {
  const root = join(dataDir, 'recordings');
  for (const day of readdirSync(root)) {
    const path = join(root, day, `${callId}.wav`);
    if (existsSync(path)) return path;
  }
  throw new Error(`no recording for ${callId}`);
}

/** That recording's sidecar (pause spans), with the crash-recovery flag when it was closed after a crash. */
export function sidecarOf(dataDir: string, callId: string): RecordingSidecar & { interrupted?: boolean } {
  return JSON.parse(readFileSync(`${recordingOf(dataDir, callId)}.json`, 'utf8')) as RecordingSidecar & { interrupted?: boolean };
}

/** The WAV recordings under a DATA_DIR (recordings/<day>/*.wav). */
export function recordingsIn(dataDir: string): string[] {
  const root = join(dataDir, 'recordings');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((day) => readdirSync(join(root, day)).filter((f) => f.endsWith('.wav')));
}

/**
 * A recording as a killed process leaves it: `<name>.wav` with the received
 * channel's samples (the sent one silent) and a header that still says no
 * audio, plus `trailingBytes` of a frame cut short, and a sidecar without
 * `stoppedAt`.
 */
export function writeUnfinishedRecording(dir: string, name: string, received: Int16Array, pauses: readonly RecordingPauseSpan[], trailingBytes = 0): RecordingSidecar {
  const file = Buffer.alloc(WAV_PCM_HEADER_LENGTH + received.length * 4 + trailingBytes);
  writePcm16WavHeader(file, 8000, 2, 0);
  for (let i = 0; i < received.length; i++) file.writeInt16LE(received[i] as number, WAV_PCM_HEADER_LENGTH + i * 4);
  writeFileSync(join(dir, `${name}.wav`), file);
  const sidecar: RecordingSidecar = {
    format: 'secure-ivr-recording/1',
    recording: `${name}.wav`,
    sampleRate: 8000,
    channels: ['received', 'sent'],
    startedAt: '2026-01-01T10:00:00.000Z',
    stoppedAt: null,
    samples: 0,
    pauses,
  };
  writeFileSync(join(dir, `${name}.wav.json`), JSON.stringify(sidecar));
  return sidecar;
}
