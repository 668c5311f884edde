import type { Logger } from 'pino';
import type { InboundCall, MediaServer } from '../../media-server/media-server-port.js';
import { InlineCall, type InlineCallOptions } from './inline-call.js';

export interface InlineCallsOptions {
  readonly mediaServer: MediaServer;
  /** INLINE_ROUTE: the PBX's URI, `{user}` standing for the number dialled (e.g. `sip:{user}@pbx.example.com:5060`). */
  readonly route: string;
  /** INLINE_CARRIERS: whether a call from this source address may be relayed. */
  readonly fromCarrier: (address: string) => boolean;
  /** INLINE_DIAL_TIMEOUT_MS: how long the PBX or a transfer target may ring. */
  readonly dialTimeoutMs: number;
  /** INLINE_AGENT_HEADER, and how its value names an agent (see InlineCallOptions). */
  readonly agentHeader?: InlineCallOptions['agentHeader'];
  /** INLINE_START_CODE (see InlineCallOptions). */
  readonly startCode?: InlineCallOptions['startCode'];
  readonly logger: Logger;
}

/** A dialled number we put in a URI: the user-part characters a number or extension uses, nothing that would change the URI. */
const DIALLED = /^[A-Za-z0-9+*#._~-]{1,64}$/;

/**
 * In-line mode: the calls relayed from the carrier to the PBX, by call id,
 * while they last. Decides which calls are relayed (from a carrier, to a
 * number that is a plain number) and starts each.
 */
export class InlineCalls {
  readonly #options: InlineCallsOptions;
  readonly #calls = new Map<string, InlineCall>();

  constructor(options: InlineCallsOptions) {
    this.#options = options;
  }

  /** Whether `call` is one to relay to the PBX (the pay number and `pay-<code>` are decided before). */
  accepts(call: InboundCall): boolean {
    return this.#options.fromCarrier(call.sourceAddress) && DIALLED.test(call.calledUser);
  }

  /** Relays `call` to the PBX; `onConnected` once both legs are bridged. Resolves when the call has ended. */
  async relay(call: InboundCall, onConnected?: (inline: InlineCall) => void): Promise<void> {
    const target = this.#options.route.replaceAll('{user}', call.calledUser);
    const inline = new InlineCall(call, {
      mediaServer: this.#options.mediaServer,
      target,
      dialTimeoutMs: this.#options.dialTimeoutMs,
      ...(this.#options.agentHeader ? { agentHeader: this.#options.agentHeader } : {}),
      ...(this.#options.startCode ? { startCode: this.#options.startCode } : {}),
      logger: this.#options.logger,
    });
    this.#calls.set(inline.id, inline);
    try {
      await inline.start();
      if (inline.state === 'connected') onConnected?.(inline);
      await inline.ended;
    } finally {
      this.#calls.delete(inline.id);
    }
  }

  get(callId: string): InlineCall | undefined {
    return this.#calls.get(callId);
  }

  /** The calls up now, oldest first. */
  list(): InlineCall[] {
    return [...this.#calls.values()];
  }
}
