import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { InboundCall, MediaServer } from '../../media-server/media-server-port.js';
import type { PaymentFlowOptions } from '../flow/flow-types.js';
import type { PromptCatalogue } from '../prompts/prompt-catalogue.js';
import { LegCallMedia, NO_RECORDING, type CallRecording } from './leg-call-media.js';
import { PaymentCall, type PaymentCallDeps } from './payment-call.js';
import { allRecordings } from './recorder-webhook.js';

export interface PaymentIvrOptions {
  readonly mediaServer: MediaServer;
  /** User part of the direct pay number (PAY_NUMBER). */
  readonly payNumber: string;
  readonly deps: PaymentCallDeps;
  readonly prompts: PromptCatalogue;
  /** Flow settings shared by every call. */
  readonly flow: Omit<PaymentFlowOptions, 'mode' | 'order'>;
  /** Where call recordings go; undefined = RECORDING=off. */
  readonly recordingDir: string | undefined;
  /** The contact centre's own recorder (RECORDER_WEBHOOK_URL), paused and resumed with ours. */
  readonly externalRecorder?: (callId: string, sessionId: () => string | undefined) => CallRecording;
  readonly logger: Logger;
}

/**
 * Answers the calls the media server receives and runs a payment on each:
 * the direct pay number today; other numbers are refused.
 */
export class PaymentIvr {
  readonly #options: PaymentIvrOptions;
  readonly #calls = new Set<PaymentCall>();
  readonly #onCall = (call: InboundCall): void => {
    this.#handle(call).catch((err: unknown) => {
      this.#options.logger.error({ err, leg: call.id }, 'call handling failed');
      void call.hangup();
    });
  };

  constructor(options: PaymentIvrOptions) {
    this.#options = options;
  }

  get activeCalls(): number {
    return this.#calls.size;
  }

  start(): void {
    this.#options.mediaServer.on('call', this.#onCall);
  }

  stop(): void {
    this.#options.mediaServer.off('call', this.#onCall);
  }

  /** Resolves when every payment call in progress has finished, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.#calls].map((c) => c.done)), timeout]);
    clearTimeout(timer);
  }

  async #handle(call: InboundCall): Promise<void> {
    const { logger } = this.#options;
    if (call.calledUser !== this.#options.payNumber) {
      logger.info({ leg: call.id, called: call.calledUser }, 'call to an unknown number refused');
      await call.reject(404, 'Not Found');
      return;
    }
    await call.answer();
    let payment: PaymentCall | undefined;
    const recording = await this.#startRecording(call, () => payment?.sessionId);
    payment = new PaymentCall(this.#options.deps, {
      callId: call.id,
      media: new LegCallMedia({
        leg: call,
        prompts: this.#options.prompts,
        recording,
        release: () => void call.hangup(),
      }),
      flow: { ...this.#options.flow, mode: 'direct' },
      language: this.#options.prompts.language,
    });
    this.#calls.add(payment);
    const running = payment;
    call.on('dtmf', (event) => running.digit(event.key));
    call.on('ended', () => {
      running.hangup();
      void call.stopRecording().catch(() => undefined);
    });
    payment.start();
    await payment.done;
    this.#calls.delete(payment);
  }

  async #startRecording(call: InboundCall, sessionId: () => string | undefined): Promise<CallRecording> {
    const recordings: CallRecording[] = [];
    const dir = this.#options.recordingDir;
    if (dir) {
      const day = new Date().toISOString().slice(0, 10);
      mkdirSync(join(dir, day), { recursive: true, mode: 0o700 });
      await call.startRecording({ path: join(dir, day, `${call.id}.wav`) });
      recordings.push({ pause: () => call.pauseRecording(), resume: () => call.resumeRecording() });
    }
    const external = this.#options.externalRecorder?.(call.id, sessionId);
    if (external) recordings.push(external);
    if (recordings.length === 0) return NO_RECORDING;
    return recordings.length === 1 ? recordings[0]! : allRecordings(recordings);
  }
}
