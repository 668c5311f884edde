import type { CallMedia } from '../../ivr/call/call-media.js';
import type { CallRecording } from '../../ivr/call/leg-call-media.js';
import type { PromptItem } from '../../ivr/flow/flow-types.js';

/**
 * The telephony side of a payment call, scripted: prompts "play" for one
 * macrotask, and every media command is kept in order so a test can check
 * what the call heard and when masking and recording changed. For tests of
 * the payment runtime below the media server; calls with real SIP use SIPp.
 */
export class ScriptedCaller implements CallMedia {
  readonly log: string[] = [];
  readonly played: (readonly PromptItem[])[] = [];
  released = false;
  /** When set, pauseRecording rejects with this reason. */
  recorderFailure: string | undefined;
  #stop: (() => void) | undefined;

  /** Recording commands also go to this recorder (an external one under test). */
  constructor(readonly recording?: CallRecording) {}

  play(items: readonly PromptItem[]): Promise<void> {
    this.played.push(items);
    this.log.push(`play ${items.map((i) => ('prompt' in i ? i.prompt : i.say)).join(',')}`);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1);
      this.#stop = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  stopPlayback(): void {
    this.log.push('stop');
    this.#stop?.();
  }

  setMasking(on: boolean): void {
    this.log.push(on ? 'mask on' : 'mask off');
  }

  setSecureWindow(on: boolean): void {
    this.log.push(on ? 'secure on' : 'secure off');
  }

  pauseRecording(): Promise<void> {
    this.log.push('recording pause');
    if (this.recorderFailure) return Promise.reject(new Error(this.recorderFailure));
    return this.recording?.pause() ?? Promise.resolve();
  }

  resumeRecording(): Promise<void> {
    this.log.push('recording resume');
    return this.recording?.resume() ?? Promise.resolve();
  }

  release(): void {
    this.log.push('release');
    this.released = true;
  }

  /** Whether keys are masked, the secure window is open and the recording paused, now. */
  get secure(): { masked: boolean; window: boolean; recordingPaused: boolean } {
    const last = (a: string, b: string): boolean => this.log.lastIndexOf(a) > this.log.lastIndexOf(b);
    return {
      masked: last('mask on', 'mask off'),
      window: last('secure on', 'secure off'),
      recordingPaused: last('recording pause', 'recording resume'),
    };
  }
}

/** Waits until `check` holds, polling; fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
