import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveHeap } from '../../../app/live-heap.js';
import { Metrics, METRIC_PREFIX } from '../../../app/metrics.js';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text.js';

// A full collection on demand: the gc() of --expose-gc, taken from a fresh context.
setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;
const observed = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

describe('LiveHeap', () => {
  const heaps: LiveHeap[] = [];
  afterEach(() => heaps.splice(0).forEach((h) => h.stop()));

  it('reads the heap in use after each full collection: up by what is kept, down once it is let go', async () => {
    const heap = new LiveHeap();
    heaps.push(heap);
    expect(heap.bytes).toBeUndefined();
    let kept: number[][] | undefined = Array.from({ length: 200 }, () => new Array<number>(50_000).fill(1.5));
    fullGc();
    await observed();
    const withKept = heap.bytes as number;
    expect(withKept).toBeGreaterThan(200 * 50_000 * 8);
    expect(kept.length).toBe(200);
    kept = undefined;
    fullGc();
    await observed();
    expect(withKept - (heap.bytes as number)).toBeGreaterThan(0.9 * 200 * 50_000 * 8);
  });

  it('is in /metrics as heap_live_bytes with the process metrics', async () => {
    const metrics = new Metrics();
    try {
      fullGc();
      await observed();
      const live = sampleValue(parsePrometheusText((await metrics.render()).body), `${METRIC_PREFIX}heap_live_bytes`);
      expect(live).toBeGreaterThan(1_000_000);
    } finally {
      metrics.stop();
    }
  });
});
