import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { EmbeddedCallLeg, EmbeddedInboundCall, type EmbeddedCallLegOptions, type LegMedia } from '../../../media-server/embedded/call/embedded-call-leg.js';
import type { IncomingInvite } from '../../../media-server/embedded/sip/user-agent/incoming-invite.js';
import type { InviteSession } from '../../../media-server/embedded/sip/user-agent/sip-user-agent.js';
import type { LegEnded } from '../../../media-server/media-server-port.js';

/**
 * A leg whose media engine is lost (its media worker exited) ends the call
 * itself: BYE once answered, 503 before, and the leg ends `failed`.
 */

/** The leg's media as the worker pool hands it over: only `lost` and `close` matter here. */
class LosableMedia extends EventEmitter {
  readonly localPort = 20000;
  readonly remote = undefined;
  readonly dtmfMasking = false;
  closes = 0;
  setRemote(): void {}
  play(): Promise<'completed'> {
    return Promise.resolve('completed');
  }
  stopPlayback(): void {}
  setDtmfMasking(): void {}
  setMuted(): void {}
  startRecording(): Promise<void> {
    return Promise.resolve();
  }
  pauseRecording(): Promise<void> {
    return Promise.resolve();
  }
  resumeRecording(): Promise<void> {
    return Promise.resolve();
  }
  stopRecording(): Promise<void> {
    return Promise.resolve();
  }
  reportDtmf(): void {}
  sendTelephoneEvent(): boolean {
    return false;
  }
  close(): void {
    this.closes++;
  }
}

class RecordingDialog extends EventEmitter {
  byes = 0;
  bye(): Promise<void> {
    this.byes++;
    this.emit('ended', 'local-bye');
    return Promise.resolve();
  }
}

class RecordingInvite extends EventEmitter {
  readonly request = { headers: new Map<string, string>() };
  readonly source = { address: '127.0.0.1', port: 5060, transport: 'udp' };
  readonly callId = 'call-1';
  readonly from = 'sip:caller@127.0.0.1';
  readonly calledUser = 'pay';
  readonly sdp = '';
  readonly localTag = 'tag';
  readonly rejected: number[] = [];
  progress(): void {}
  accept(): Promise<InviteSession> {
    return new Promise(() => undefined);
  }
  reject(status: number): void {
    this.rejected.push(status);
  }
}

function options(media: LosableMedia): EmbeddedCallLegOptions {
  return {
    id: 'leg-1',
    media: media as unknown as LegMedia,
    answerReoffer: () => {
      throw new Error('no re-INVITE in these tests');
    },
    reoffer: () => {
      throw new Error('no re-INVITE in these tests');
    },
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('a leg whose media is lost', () => {
  it('answered: sends BYE once, ends failed, and closes its media', async () => {
    const media = new LosableMedia();
    const leg = new EmbeddedCallLeg(options(media));
    const dialog = new RecordingDialog();
    leg.attachDialog(dialog as unknown as InviteSession);
    const ended: LegEnded[] = [];
    leg.on('ended', (event) => ended.push(event));
    media.emit('lost');
    media.emit('lost');
    await settle();
    expect(dialog.byes).toBe(1);
    expect(ended).toEqual([{ reason: 'failed' }]);
    expect(media.closes).toBe(1);
  });

  it('already ended: does nothing', async () => {
    const media = new LosableMedia();
    const leg = new EmbeddedCallLeg(options(media));
    const dialog = new RecordingDialog();
    leg.attachDialog(dialog as unknown as InviteSession);
    await leg.hangup();
    const ended: LegEnded[] = [];
    leg.on('ended', (event) => ended.push(event));
    media.emit('lost');
    await settle();
    expect(dialog.byes).toBe(1);
    expect(ended).toEqual([]);
  });

  it('ringing (not answered): the caller gets 503 and the leg ends failed', async () => {
    const media = new LosableMedia();
    const invite = new RecordingInvite();
    const call = new EmbeddedInboundCall({
      ...options(media),
      invite: invite as unknown as IncomingInvite,
      answerSdp: 'v=0',
      negotiated: { codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: 101, remoteAddress: '127.0.0.1', remotePort: 4000, direction: 'sendrecv', onHold: false },
    });
    const ended: LegEnded[] = [];
    call.on('ended', (event) => ended.push(event));
    media.emit('lost');
    await settle();
    expect(invite.rejected).toEqual([503]);
    expect(ended).toEqual([{ reason: 'failed', status: 503 }]);
    await expect(call.answer()).rejects.toThrow('the caller has gone');
  });
});
