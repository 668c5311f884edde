import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordingSidecar } from '../../media-server/embedded/rtp/call-recorder.js';

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
