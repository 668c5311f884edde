import { describe, expect, it } from 'vitest';
import { MediaClock } from '../../../media-server/embedded/rtp/media-clock.js';

describe('MediaClock', () => {
  it('runs every handler once per 20 ms frame, from one timer', async () => {
    const clock = new MediaClock();
    const a: number[] = [];
    const b: number[] = [];
    const ha = (f: number): void => void a.push(f);
    const hb = (f: number): void => void b.push(f);
    clock.add(ha);
    clock.add(hb);
    await new Promise((r) => setTimeout(r, 210));
    clock.remove(ha);
    clock.remove(hb);
    expect(clock.running).toBe(false);
    expect(a.length).toBeGreaterThanOrEqual(8);
    expect(a.length).toBeLessThanOrEqual(11);
    expect(b).toEqual(a);
    expect(a).toEqual(a.map((_, i) => i + 1));
  });

  it('catches up missed frames after a stall, up to a bound, then skips', async () => {
    const clock = new MediaClock({ maxCatchUpFrames: 3 });
    const frames: { frame: number; at: number }[] = [];
    const h = (frame: number): void => {
      frames.push({ frame, at: performance.now() });
      if (frame === 2) {
        const until = performance.now() + 130;
        while (performance.now() < until) {
          // Block the event loop for six and a half frames.
        }
      }
    };
    clock.add(h);
    await new Promise((r) => setTimeout(r, 300));
    clock.remove(h);
    const stats = clock.stats();
    expect(stats.skippedFrames).toBeGreaterThanOrEqual(2);
    expect(stats.latenessMaxMs).toBeGreaterThan(100);
    const numbers = frames.map((f) => f.frame);
    expect(new Set(numbers).size).toBe(numbers.length);
    // Right after the stall, three frames ran back to back (within a couple of ms).
    const third = frames.findIndex((f) => f.frame > 2);
    expect(frames[third + 2]!.at - frames[third]!.at).toBeLessThan(5);
  });

  it('keeps running when a handler throws', async () => {
    const errors: unknown[] = [];
    const clock = new MediaClock({ onHandlerError: (e) => errors.push(e) });
    let ok = 0;
    const bad = (): void => {
      throw new Error('boom');
    };
    const good = (): void => void ok++;
    clock.add(bad);
    clock.add(good);
    await new Promise((r) => setTimeout(r, 70));
    clock.remove(bad);
    clock.remove(good);
    expect(ok).toBeGreaterThanOrEqual(2);
    expect(errors.length).toBe(ok);
  });
});
