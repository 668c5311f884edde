import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { AudioItem, CallLeg, PlaybackResult } from '../../../media-server/media-server-port.js';
import { LegCallMedia, NO_RECORDING } from '../../../ivr/call/leg-call-media.js';
import { PromptCatalogue } from '../../../ivr/prompts/prompt-catalogue.js';
import { SHIPPED_FILES } from '../../../app/shipped-files.js';

/** A call leg that keeps what was asked of it; plays finish when `finish()` is called. */
class RecordingLeg extends EventEmitter {
  readonly id = 'leg';
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
  it('masks the caller leg; in muted mode also mutes it for the agent', () => {
    const caller = new RecordingLeg();
    new LegCallMedia({ leg: asLeg(caller), prompts, recording: NO_RECORDING, release: () => {} }).setMasking(true);
    expect(caller.calls).toEqual(['mask:true']);
    const muted = new RecordingLeg();
    const media = new LegCallMedia({ leg: asLeg(muted), prompts, recording: NO_RECORDING, release: () => {}, muteWhileMasked: true });
    media.setMasking(true);
    media.setMasking(false);
    expect(muted.calls).toEqual(['mask:true', 'mute:true', 'mask:false', 'mute:false']);
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
