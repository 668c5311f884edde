import { open } from 'node:fs/promises';

/**
 * The sandbox PSP's ledger on disk: JSON Lines, appended to and never
 * rewritten. Each line is a charge as it now stands; on reading, the last
 * line for a key wins. Appends queued while a write is in flight go out
 * together with one fdatasync (group commit), off the event loop: rewriting
 * the whole ledger and fsyncing it per charge stopped every call's media
 * clock for tens of milliseconds once a few hundred calls were paying.
 */
export class SandboxLedgerJournal {
  readonly path: string;
  #pending: string[] = [];
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #writing = false;

  constructor(path: string) {
    this.path = path;
  }

  /** Resolves once `record` is on disk (written and data-synced). */
  append(record: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push(`${JSON.stringify(record)}\n`);
      this.#waiters.push({ resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#pending.length > 0) {
      const lines = this.#pending.join('');
      const waiters = this.#waiters;
      this.#pending = [];
      this.#waiters = [];
      try {
        // Opened per batch, so no descriptor outlives the writes.
        const file = await open(this.path, 'a', 0o600);
        try {
          await file.appendFile(lines, 'utf8');
          await file.datasync();
        } finally {
          await file.close();
        }
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
    this.#writing = false;
  }
}
