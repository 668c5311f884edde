import { resolve } from 'node:path';
import { PROMPT_WAV, readWavFile } from '../media/wav-reader.js';
import { PromptLoadError } from './rtp-errors.js';

export interface PromptCacheOptions {
  /**
   * Decoded audio kept, in bytes of 16-bit PCM (16 000 per second). Default
   * 64 MiB, about 70 minutes: far more than a prompt set, so in practice
   * every prompt is decoded once; past it the least recently played go.
   */
  readonly maxBytes?: number;
  /** Reads and decodes one file. Default: `readWavFile` (8 kHz mono, 16-bit PCM or G.711) → 16-bit PCM. */
  readonly load?: (path: string) => Promise<Int16Array>;
}

async function loadPrompt(path: string): Promise<Int16Array> {
  return (await readWavFile(path, PROMPT_WAV)).toPcm16();
}

/**
 * Prompts decoded once to 16-bit PCM and shared by every session: an LRU
 * bounded by bytes, keyed by absolute path. Prompt files are treated as
 * immutable while the process runs (`clear()` after replacing them).
 * Concurrent loads of one file share a single read; failures are not cached.
 */
export class PromptCache {
  readonly maxBytes: number;
  readonly #load: (path: string) => Promise<Int16Array>;
  readonly #entries = new Map<string, Int16Array>();
  readonly #loading = new Map<string, Promise<Int16Array>>();
  #bytes = 0;

  constructor(options: PromptCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#load = options.load ?? loadPrompt;
  }

  /** Prompts held. */
  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The prompt's samples (do not modify them). Rejects with `PromptLoadError`. */
  get(path: string): Promise<Int16Array> {
    const key = resolve(path);
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return Promise.resolve(hit);
    }
    let pending = this.#loading.get(key);
    if (!pending) {
      pending = this.#load(key).then(
        (pcm) => {
          this.#loading.delete(key);
          this.#store(key, pcm);
          return pcm;
        },
        (error: unknown) => {
          this.#loading.delete(key);
          throw new PromptLoadError(path, { cause: error });
        },
      );
      this.#loading.set(key, pending);
    }
    return pending;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #store(key: string, pcm: Int16Array): void {
    if (pcm.byteLength > this.maxBytes) return;
    this.#entries.set(key, pcm);
    this.#bytes += pcm.byteLength;
    for (const [oldKey, old] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldKey);
      this.#bytes -= old.byteLength;
    }
  }
}
