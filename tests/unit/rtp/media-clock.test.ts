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
    expect(a).toEqual(a.map((_, i) => i + 1));
    expect(b).toEqual(b.map((_, i) => i + 1));
    // In different slots of the frame: one may be a frame ahead when both are removed.
    expect(Math.abs(a.length - b.length)).toBeLessThanOrEqual(1);
  });

  it('spreads handlers over the slots of a frame: each runs once per frame in its own slot, all on one frame count', async () => {
    const clock = new MediaClock({ phases: 4 });
    const order: string[] = [];
    const handlers = ['a', 'b', 'c', 'd', 'e'].map((name) => (frame: number): void => void order.push(`${name}${frame}`));
    for (const h of handlers) clock.add(h);
    await new Promise((r) => setTimeout(r, 100));
    for (const h of handlers) clock.remove(h);
    // Five handlers on four slots: a and e share the first; then b, c, d, each in turn, frame after frame.
    const expected = Array.from({ length: 10 }, (_, i) => [`a${i + 1}`, `e${i + 1}`, `b${i + 1}`, `c${i + 1}`, `d${i + 1}`]).flat();
    expect(order.length).toBeGreaterThanOrEqual(10);
    expect(order).toEqual(expected.slice(0, order.length));
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
    // One slot, so both run in every tick and the counts compare exactly.
    const clock = new MediaClock({ phases: 1, onHandlerError: (e) => errors.push(e) });
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
