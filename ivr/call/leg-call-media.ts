import type { CallLeg } from '../../media-server/media-server-port.js';
import type { PromptItem } from '../flow/flow-types.js';
import type { PromptCatalogue } from '../prompts/prompt-catalogue.js';
import type { CallMedia } from './call-media.js';

/** Pauses and resumes every recorder of one call (the media server's own, external ones). */
export interface CallRecording {
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/** A call with no recording configured: pausing is trivially confirmed. */
export const NO_RECORDING: CallRecording = {
  pause: () => Promise.resolve(),
  resume: () => Promise.resolve(),
};

/**
 * CallMedia on a media-server call leg: prompts resolved to the language's
 * recordings, masking on the caller's leg, recording through the call's
 * recorders.
 */
export class LegCallMedia implements CallMedia {
  readonly #leg: CallLeg;
  readonly #prompts: PromptCatalogue;
  readonly #recording: CallRecording;
  readonly #release: () => void;
  readonly #muteWhileMasked: boolean;

  constructor(options: {
    leg: CallLeg;
    prompts: PromptCatalogue;
    recording: CallRecording;
    release: () => void;
    /** AGENT_AUDIO_DURING_CAPTURE=muted: also protects digits a caller reads aloud. */
    muteWhileMasked?: boolean;
  }) {
    this.#leg = options.leg;
    this.#prompts = options.prompts;
    this.#recording = options.recording;
    this.#release = options.release;
    this.#muteWhileMasked = options.muteWhileMasked ?? false;
  }

  async play(items: readonly PromptItem[], options: { readonly bargeIn: boolean }): Promise<void> {
    await this.#leg.play(this.#prompts.resolve(items), { bargeIn: options.bargeIn });
  }

  stopPlayback(): void {
    this.#leg.stopPlayback();
  }

  setMasking(on: boolean): void {
    this.#leg.setDtmfMasking(on);
    if (this.#muteWhileMasked) this.#leg.setMuted(on);
  }

  pauseRecording(): Promise<void> {
    return this.#recording.pause();
  }

  resumeRecording(): Promise<void> {
    return this.#recording.resume();
  }

  release(): void {
    this.#release();
  }
}
