import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { dtmfToneEnergyPresent } from '../../media-server/embedded/media/dtmf-detector.js';
import { parseWav } from '../../media-server/embedded/media/wav-reader.js';
import type { RecordingSidecar } from '../../media-server/embedded/rtp/call-recorder.js';
import { finishedInMemory, recordingSidecars } from '../../media-server/embedded/rtp/recording-recovery.js';

export interface RecordingFinding {
  readonly file: string;
  readonly channel: 'received' | 'sent';
  /** Sample (per channel) where the offending 20 ms window starts. */
  readonly atSample: number;
  /** DTMF tone energy, or any sound at all, inside a paused span. */
  readonly kind: 'dtmf' | 'sound';
}

export interface RecordingAuditReport {
  readonly recordingsScanned: number;
  readonly pausedMs: number;
  readonly findings: readonly RecordingFinding[];
  /** Recordings whose sidecar or WAV could not be read: a finding in their own right. */
  readonly unreadable: readonly string[];
  /**
   * Recordings never closed (no `stoppedAt`: their process died, or has not
   * restarted to recover them): audited on the frames that reached the disk.
   */
  readonly unfinished: readonly string[];
}

const WINDOW = 160;
/** Louder than the quantisation noise of G.711 silence (µ-law 0xFF decodes to 0, A-law to ±8). */
const SILENCE_PEAK = 16;

/**
 * Checks every call recording under `dir` against its sidecar: inside each
 * paused span both channels must be silent, so no key tone of a card field
 * was recorded (PCI DSS 4.0 req. 3.3.1: no sensitive authentication data
 * after authorisation, in any form).
 */
export function auditRecordings(dir: string): RecordingAuditReport {
  const findings: RecordingFinding[] = [];
  const unreadable: string[] = [];
  const unfinished: string[] = [];
  let recordingsScanned = 0;
  let pausedSamples = 0;
  for (const sidecarPath of recordingSidecars(dir)) {
    const name = relative(dir, sidecarPath);
    let sidecar: RecordingSidecar;
    let channels: [Int16Array, Int16Array];
    try {
      sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8')) as RecordingSidecar;
      const bytes = readFileSync(join(dirname(sidecarPath), sidecar.recording));
      // An unclosed recording's header still says no audio: read what is on disk, as start-up recovery would.
      const wav = parseWav(sidecar.stoppedAt === null ? finishedInMemory(bytes) : bytes, { channels: 2 });
      if (sidecar.stoppedAt === null) unfinished.push(name);
      channels = [wav.channel(0), wav.channel(1)];
    } catch {
      unreadable.push(name);
      continue;
    }
    recordingsScanned++;
    const total = channels[0].length;
    for (const pause of sidecar.pauses) {
      const end = Math.min(pause.toSample ?? total, total);
      pausedSamples += Math.max(0, end - pause.fromSample);
      channels.forEach((samples, index) => {
        const finding = firstSoundIn(samples, pause.fromSample, end);
        if (finding) findings.push({ file: name, channel: index === 0 ? 'received' : 'sent', ...finding });
      });
    }
  }
  return { recordingsScanned, pausedMs: pausedSamples / 8, findings, unreadable, unfinished };
}

function firstSoundIn(samples: Int16Array, from: number, to: number): Omit<RecordingFinding, 'file' | 'channel'> | undefined {
  for (let at = from; at < to; at += WINDOW) {
    const count = Math.min(WINDOW, to - at);
    if (count >= 80 && dtmfToneEnergyPresent(samples, at, count)) return { atSample: at, kind: 'dtmf' };
    for (let i = at; i < at + count; i++) {
      if (Math.abs(samples[i] as number) > SILENCE_PEAK) return { atSample: at, kind: 'sound' };
    }
  }
  return undefined;
}
