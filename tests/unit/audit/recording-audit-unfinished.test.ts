import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WAV_PCM_HEADER_LENGTH, writePcm16WavHeader } from '../../../media-server/embedded/media/wav-format.js';
import type { RecordingSidecar } from '../../../media-server/embedded/rtp/call-recorder.js';
import { auditRecordings } from '../../../tools/audit/recording-audit.js';
import { keySequence, speechLike } from '../rtp/signals.js';

/**
 * A recording whose process died (or exited) before closing it: the WAV
 * header still says no audio and the sidecar has no `stoppedAt`. The audit
 * reads what reached the disk instead of giving up on it.
 */
function unfinishedRecording(dir: string, name: string, received: Int16Array, pause: { from: number; to: number | null }): void {
  const frames = received.length;
  const file = Buffer.alloc(WAV_PCM_HEADER_LENGTH + frames * 4);
  writePcm16WavHeader(file, 8000, 2, 0);
  for (let i = 0; i < frames; i++) file.writeInt16LE(received[i] as number, WAV_PCM_HEADER_LENGTH + i * 4);
  writeFileSync(join(dir, `${name}.wav`), file);
  const sidecar: RecordingSidecar = {
    format: 'secure-ivr-recording/1',
    recording: `${name}.wav`,
    sampleRate: 8000,
    channels: ['received', 'sent'],
    startedAt: '2026-01-01T10:00:00.000Z',
    stoppedAt: null,
    samples: 0,
    pauses: [{ fromSample: pause.from, from: '2026-01-01T10:00:01.000Z', toSample: pause.to, to: pause.to === null ? null : '2026-01-01T10:00:02.000Z' }],
  };
  writeFileSync(join(dir, `${name}.wav.json`), JSON.stringify(sidecar));
}

describe('recording audit of a recording never closed', () => {
  it('reads the frames on disk: silence in its open pause passes, and it is listed as unfinished', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-unfinished-'));
    const audio = speechLike(8000, 3);
    audio.fill(0, 4000);
    unfinishedRecording(dir, 'quiet', audio, { from: 4000, to: null });
    const report = auditRecordings(dir);
    expect(report).toMatchObject({ recordingsScanned: 1, unreadable: [], unfinished: ['quiet.wav.json'], findings: [] });
    expect(report.pausedMs).toBe(500);
  });

  it('finds a key tone inside the pause of an unfinished recording', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-unfinished-'));
    mkdirSync(join(dir, 'day'));
    const tones = keySequence('4', { toneMs: 100, leadMs: 200, tailMs: 200 }).pcm;
    unfinishedRecording(join(dir, 'day'), 'leaky', tones, { from: 0, to: tones.length });
    const report = auditRecordings(dir);
    expect(report.unfinished).toEqual([join('day', 'leaky.wav.json')]);
    expect(report.findings.map((f) => [f.channel, f.kind])).toEqual([['received', 'dtmf']]);
  });
});
