import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditRecordings } from '../../../tools/audit/recording-audit.js';
import { writeUnfinishedRecording } from '../../support/recordings.js';
import { keySequence, speechLike } from '../rtp/signals.js';

/**
 * A recording whose process died (or exited) before closing it: the WAV
 * header still says no audio and the sidecar has no `stoppedAt`. The audit
 * reads what reached the disk instead of giving up on it.
 */
function unfinishedRecording(dir: string, name: string, received: Int16Array, pause: { from: number; to: number | null }): void {
  writeUnfinishedRecording(dir, name, received, [{ fromSample: pause.from, from: '2026-01-01T10:00:01.000Z', toSample: pause.to, to: pause.to === null ? null : '2026-01-01T10:00:02.000Z' }]);
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
