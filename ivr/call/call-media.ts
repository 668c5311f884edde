import type { PromptItem } from '../flow/flow-types.js';

/**
 * What one payment call needs from the telephony side, in the flow's own
 * words. The media server port's call object is adapted to this; tests of
 * the payment runtime can stand a scripted caller behind it.
 */
export interface CallMedia {
  /** Plays the items in order; settles when they finished or were stopped. */
  play(items: readonly PromptItem[], options: { readonly bargeIn: boolean }): Promise<void>;
  stopPlayback(): void;
  /** Masks key presses towards every other party of the call (agent leg, forwarded audio) and in our recording. */
  setMasking(on: boolean): void;
  /** The secure window opened or closed (mute the caller for the agent where configured). */
  setSecureWindow(on: boolean): void;
  /** Resolves once every recorder of the call has confirmed it is paused; rejects if one cannot. */
  pauseRecording(): Promise<void>;
  resumeRecording(): Promise<void>;
  /** The flow is done with the call: hang up (direct pay) or hand it back (agent-assisted). */
  release(): void;
}
