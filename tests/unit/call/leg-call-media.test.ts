import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { AudioItem, CallLeg, PlaybackResult } from '../../../media-server/media-server-port.js';
import { LegCallMedia, NO_RECORDING } from '../../../ivr/call/leg-call-media.js';
import { PromptCatalogue } from '../../../ivr/prompts/prompt-catalogue.js';
import { SHIPPED_FILES } from '../../../app/shipped-files.js';

/** A call leg that keeps what was asked of it; plays finish when `finish()` is called. */
class RecordingLeg extends EventEmitter {
  readonly id = 'leg';
  constructor(readonly dtmfMaskingMethod: 'tones' | 'mute' = 'tones') {
    super();
  }
  ended = false;
  readonly played: AudioItem[][] = [];
  readonly calls: string[] = [];
  #finish: ((r: PlaybackResult) => void) | undefined;
  play(items: readonly AudioItem[]): Promise<PlaybackResult> {
    this.played.push([...items]);
    return new Promise((resolve) => (this.#finish = resolve));
  }
  finish(): void {
    this.#finish?.('completed');
  }
  stopPlayback(): void {
    this.calls.push('stop');
    this.#finish?.('stopped');
  }
  setDtmfMasking(on: boolean): void {
    this.calls.push(`mask:${on}`);
  }
  setMuted(on: boolean): void {
    this.calls.push(`mute:${on}`);
  }
}

const asLeg = (leg: RecordingLeg): CallLeg => leg as unknown as CallLeg;
const prompts = new PromptCatalogue('en-GB', SHIPPED_FILES.promptAudioDir);

describe('LegCallMedia', () => {
  it('masks keys on a leg that masks tones for the whole session; the secure window changes nothing more by default', () => {
    const caller = new RecordingLeg('tones');
    const media = new LegCallMedia({ leg: asLeg(caller), prompts, recording: NO_RECORDING, release: () => {} });
    media.setMasking(true);
    media.setSecureWindow(true);
    media.setSecureWindow(false);
    media.setMasking(false);
    expect(caller.calls).toEqual(['mask:true', 'mask:false']);
  });

  it('in muted mode mutes the caller for the agent in the secure window only', () => {
    const caller = new RecordingLeg('tones');
    const media = new LegCallMedia({ leg: asLeg(caller), prompts, recording: NO_RECORDING, release: () => {}, muteInSecureWindow: true });
    media.setMasking(true);
    media.setSecureWindow(true);
    media.setSecureWindow(false);
    expect(caller.calls).toEqual(['mask:true', 'mute:true', 'mute:false']);
  });

  it('masks a leg that can only mask by muting (FreeSWITCH) in the secure window, so the agent hears the caller outside it', () => {
    const caller = new RecordingLeg('mute');
    const media = new LegCallMedia({ leg: asLeg(caller), prompts, recording: NO_RECORDING, release: () => {} });
    media.setMasking(true);
    expect(caller.calls).toEqual([]);
    media.setSecureWindow(true);
    media.setSecureWindow(false);
    expect(caller.calls).toEqual(['mask:true', 'mask:false']);
  });

  it('plays the prompts to the agent too when asked, and stops the agent copy with the caller\'s', async () => {
    const caller = new RecordingLeg();
    const agent = new RecordingLeg();
    const media = new LegCallMedia({ leg: asLeg(caller), prompts, recording: NO_RECORDING, release: () => {}, promptsAlsoTo: () => asLeg(agent) });
    const playing = media.play([{ prompt: 'enter-card-number' }], { bargeIn: true });
    expect(agent.played).toEqual(caller.played);
    expect(caller.played[0]?.[0]).toMatchObject({ file: expect.stringMatching(/en-GB\/enter-card-number\.wav$/) });
    caller.finish();
    await playing;
    expect(agent.calls).toEqual(['stop']);
  });

  it('plays to the caller only when the agent leg is gone', async () => {
    const caller = new RecordingLeg();
    const agent = new RecordingLeg();
    agent.ended = true;
    const media = new LegCallMedia({ leg: asLeg(caller), prompts, recording: NO_RECORDING, release: () => {}, promptsAlsoTo: () => asLeg(agent) });
    const playing = media.play([{ prompt: 'goodbye' }], { bargeIn: false });
    caller.finish();
    await playing;
    expect(agent.played).toEqual([]);
    expect(caller.played).toHaveLength(1);
  });
});
