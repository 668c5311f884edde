import pg from 'pg';
import type { ClusterChannel } from './cluster-channels.js';

export interface PostgresListenerOptions {
  /** DATABASE_URL. */
  readonly url: string;
  /** After a lost connection, the wait before the next try. Default 1 000 ms. */
  readonly retryMs?: number;
  /** Told of a lost connection (it is retried). */
  readonly onError?: (err: unknown) => void;
}

type Listener = (payload: string) => void;

/**
 * One connection that LISTENs on the cluster's channels for this node and
 * hands each notification's payload to the channel's listeners. A lost
 * connection is made again; notifications sent meanwhile are lost (NOTIFY is
 * not durable), so `onListening` listeners run at every (re)connection to
 * read from the tables what they may have missed.
 */
export class PostgresListener {
  readonly #o: PostgresListenerOptions;
  readonly #listeners = new Map<ClusterChannel, Set<Listener>>();
  readonly #onListening = new Set<() => void>();
  #client: pg.Client | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(options: PostgresListenerOptions) {
    this.#o = options;
  }

  /** Listens on `channel` (before `start`: channels are LISTENed at connection). */
  on(channel: ClusterChannel, listener: Listener): void {
    let set = this.#listeners.get(channel);
    if (!set) this.#listeners.set(channel, (set = new Set()));
    set.add(listener);
  }

  /** Runs `listener` once connected and at every reconnection. */
  onListening(listener: () => void): void {
    this.#onListening.add(listener);
  }

  /** Connects and LISTENs; rejects if the first connection fails. */
  async start(): Promise<void> {
    await this.#connect();
  }

  /** Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#client?.end().catch(() => undefined);
    this.#client = undefined;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#o.url });
    client.on('notification', (n) => {
      for (const listener of this.#listeners.get(n.channel as ClusterChannel) ?? []) {
        try {
          listener(n.payload ?? '');
        } catch (err) {
          this.#o.onError?.(err);
        }
      }
    });
    const lost = (err?: unknown): void => {
      if (this.#client !== client) return;
      this.#client = undefined;
      if (err) this.#o.onError?.(err);
      void client.end().catch(() => undefined);
      this.#scheduleRetry();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    // Channel names are our constants (cluster-channels.ts), never input: LISTEN takes no bound parameter.
    for (const channel of this.#listeners.keys()) await client.query(`LISTEN ${channel}`);
    if (this.#closed) {
      await client.end();
      return;
    }
    this.#client = client;
    for (const listener of this.#onListening) listener();
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#connect().catch((err: unknown) => {
        this.#o.onError?.(err);
        this.#scheduleRetry();
      });
    }, this.#o.retryMs ?? 1_000);
    this.#retry.unref();
  }
}
