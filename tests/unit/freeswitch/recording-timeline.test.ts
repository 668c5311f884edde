import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordingNotVisibleError } from '../../../media-server/freeswitch/freeswitch-errors.js';
import { RecordingTimeline } from '../../../media-server/freeswitch/recording-timeline.js';
import type { RecordingSidecar } from '../../../media-server/recording-sidecar.js';

const dir = mkdtempSync(join(tmpdir(), 'recording-timeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A clock and a file position the test moves by hand: ms, samples per channel. */
function media(start = Date.parse('2026-12-07T10:00:00.000Z')): { now: () => number; position: () => number; advance: (ms: number, samples: number) => void } {
  let t = start;
  let samples = 0;
  return {
    now: () => t,
    position: () => samples,
    advance: (ms, written) => {
      t += ms;
      samples += written;
    },
  };
}

const read = (path: string): RecordingSidecar => JSON.parse(readFileSync(path, 'utf8')) as RecordingSidecar;

describe('RecordingTimeline: the pause sidecar of a FreeSWITCH recording, from where the file stood at mask and unmask', () => {
  it('takes each span from the file position (not the clock, which the file falls behind), each end pulled in by the edge; saved at every step', async () => {
    const m = media();
    const timeline = await RecordingTimeline.start(join(dir, 'leg_a.wav'), { ...m, edgeMs: 60 });
    expect(read(timeline.sidecarPath)).toMatchObject({ recording: 'leg_a.wav', stoppedAt: null, pauses: [] });
    // 2 s of clock, 1.5 s of audio written: the channel read no frame for half a second.
    m.advance(2000, 12_000);
    await timeline.pause();
    expect(read(timeline.sidecarPath).pauses).toEqual([{ fromSample: 12_480, from: '2026-12-07T10:00:02.000Z', toSample: null, to: null }]);
    m.advance(10_000, 80_000);
    await timeline.resume();
    m.advance(1000, 8000);
    await timeline.stop();
    const sidecar = read(timeline.sidecarPath);
    expect(sidecar.pauses).toEqual([{ fromSample: 12_480, from: '2026-12-07T10:00:02.000Z', toSample: 91_520, to: '2026-12-07T10:00:12.000Z' }]);
    expect(sidecar).toMatchObject({ stoppedAt: '2026-12-07T10:00:13.000Z', samples: 100_000, sampleRate: 8000, channels: ['received', 'sent'] });
  });

  it('a pause still open at stop ends with the file; a mask shorter than its edges is an empty span, not a reversed one', async () => {
    const m = media();
    const timeline = await RecordingTimeline.start(join(dir, 'leg_b.wav'), { ...m, edgeMs: 60 });
    m.advance(1000, 8000);
    await timeline.pause();
    m.advance(50, 400);
    await timeline.resume();
    m.advance(1000, 8000);
    await timeline.pause();
    await timeline.pause();
    m.advance(3000, 24_000);
    await timeline.stop();
    await timeline.stop();
    const { pauses } = read(timeline.sidecarPath);
    expect(pauses).toHaveLength(2);
    expect(pauses[0]!.toSample).toBe(pauses[0]!.fromSample);
    expect(pauses[1]).toMatchObject({ fromSample: 16_880, toSample: 40_400 });
  });

  it('reads the position from the WAV FreeSWITCH writes: 44-byte header, stereo 16-bit frames', async () => {
    const path = join(dir, 'leg_c.wav');
    writeFileSync(path, Buffer.alloc(44 + 4 * 800));
    const timeline = await RecordingTimeline.start(path);
    await timeline.pause();
    expect(read(timeline.sidecarPath).pauses[0]!.fromSample).toBe(800 + 480);
  });

  it('a recording the app cannot see, or a sidecar it cannot write, rejects the start', async () => {
    await expect(RecordingTimeline.start(join(dir, 'leg_d.wav'))).rejects.toBeInstanceOf(RecordingNotVisibleError);
    await expect(RecordingTimeline.start(join(dir, 'no-such-folder', 'leg_e.wav'), { position: () => 0 })).rejects.toThrow();
  });
});
