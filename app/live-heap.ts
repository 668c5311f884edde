import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/**
 * The V8 heap in use just after the latest full (mark-compact) collection:
 * what the process really keeps alive. RSS and the heap's committed size
 * follow V8's sizing heuristics (it lets the heap grow to a multiple of the
 * live size before collecting it), so they rise for a long while in a
 * steady all-day load without anything leaking; this figure rises only if
 * something is kept that should not be.
 */
export class LiveHeap {
  #bytes: number | undefined;
  readonly #observer: PerformanceObserver;

  constructor() {
    this.#observer = new PerformanceObserver((list) => {
      // Entries come in batches after the collection; what was allocated since is small against the heap.
      if (list.getEntries().some(isFullCollection)) this.#bytes = getHeapStatistics().used_heap_size;
    });
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /** Bytes in use after the latest full collection; undefined until one has run. */
  get bytes(): number | undefined {
    return this.#bytes;
  }

  stop(): void {
    this.#observer.disconnect();
  }
}

function isFullCollection(entry: PerformanceEntry): boolean {
  return ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
}
