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
  readonly #muteInSecureWindow: boolean;
  readonly #promptsAlsoTo: (() => CallLeg | undefined) | undefined;

  constructor(options: {
    leg: CallLeg;
    prompts: PromptCatalogue;
    recording: CallRecording;
    release: () => void;
    /** AGENT_AUDIO_DURING_CAPTURE=muted: the caller is muted for the agent in the secure window (digits read aloud). */
    muteInSecureWindow?: boolean;
    /** AGENT_HEARS_PROMPTS: the leg (the agent's) that hears the prompts too, while it is up. */
    promptsAlsoTo?: () => CallLeg | undefined;
  }) {
    this.#leg = options.leg;
    this.#prompts = options.prompts;
    this.#recording = options.recording;
    this.#release = options.release;
    this.#muteInSecureWindow = options.muteInSecureWindow ?? false;
    this.#promptsAlsoTo = options.promptsAlsoTo;
  }

  async play(items: readonly PromptItem[], options: { readonly bargeIn: boolean }): Promise<void> {
    const audio = this.#prompts.resolve(items);
    const other = this.#promptsAlsoTo?.();
    // The agent's copy follows the caller's: it never holds up the flow.
    if (other && !other.ended) void other.play(audio).catch(() => undefined);
    try {
      await this.#leg.play(audio, { bargeIn: options.bargeIn });
    } finally {
      if (other && !other.ended) other.stopPlayback();
    }
  }

  stopPlayback(): void {
    this.#leg.stopPlayback();
    this.#promptsAlsoTo?.()?.stopPlayback();
  }

  /**
   * Keys masked for the whole session. A leg that can only mask by muting
   * (FreeSWITCH) is masked in the secure window instead, so the agent keeps
   * hearing the caller outside it; its RFC 2833 events are never forwarded.
   */
  setMasking(on: boolean): void {
    if (this.#leg.dtmfMaskingMethod === 'tones') this.#leg.setDtmfMasking(on);
  }

  setSecureWindow(on: boolean): void {
    if (this.#leg.dtmfMaskingMethod === 'mute') this.#leg.setDtmfMasking(on);
    if (this.#muteInSecureWindow) this.#leg.setMuted(on);
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
