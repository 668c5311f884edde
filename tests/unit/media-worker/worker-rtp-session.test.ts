import { describe, expect, it } from 'vitest';
import type { MediaWorkerNotice, MediaWorkerRequest, MediaWorkerThread } from '../../../media-server/embedded/worker/media-worker-thread.js';
import { WorkerRtpSession } from '../../../media-server/embedded/worker/worker-rtp-session.js';
import type { NegotiatedAudio } from '../../../media-server/embedded/sdp/sdp-negotiator.js';

/** The thread's two ways of sending, recorded; requests answered at once. */
class RecordingThread {
  readonly notices: MediaWorkerNotice[] = [];
  readonly requests: MediaWorkerRequest[] = [];
  notify(command: MediaWorkerNotice): void {
    this.notices.push(command);
  }
  request(command: MediaWorkerRequest): Promise<unknown> {
    this.requests.push(command);
    return Promise.resolve(command.type === 'play' ? 'completed' : undefined);
  }
}

function session(): { media: WorkerRtpSession; thread: RecordingThread; closed: () => number } {
  const thread = new RecordingThread();
  let closed = 0;
  const media = new WorkerRtpSession({ id: 7, localPort: 20000, thread: thread as unknown as MediaWorkerThread, onClosed: () => closed++ });
  return { media, thread, closed: () => closed };
}

const audio = (extra: Partial<NegotiatedAudio> = {}): NegotiatedAudio => ({
  codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: 101, remoteAddress: '127.0.0.1', remotePort: 4000, direction: 'sendrecv', onHold: false, ...extra,
});

describe('WorkerRtpSession: a media worker’s session seen from the main thread', () => {
  it('keeps the remote it sent, and refuses a codec that is not G.711 at once, sending nothing', () => {
    const { media, thread } = session();
    media.setRemote(audio());
    expect(media.remote?.remotePort).toBe(4000);
    expect(() => media.setRemote(audio({ codec: 'G729' as NegotiatedAudio['codec'] }))).toThrow(RangeError);
    expect(thread.notices.map((n) => n.type)).toEqual(['set-remote']);
  });

  it('sends a key of ours as RFC 4733 only when the remote declared telephone-event', () => {
    const { media, thread } = session();
    expect(media.sendTelephoneEvent('5')).toBe(false);
    media.setRemote(audio({ telephoneEventPayloadType: undefined }));
    expect(media.sendTelephoneEvent('5')).toBe(false);
    media.setRemote(audio());
    expect(media.sendTelephoneEvent('5', 120)).toBe(true);
    expect(thread.notices.at(-1)).toEqual({ type: 'send-telephone-event', session: 7, key: '5', durationMs: 120 });
  });

  it('tells its listeners once its worker is lost, and nothing once it is closed', async () => {
    const { media } = session();
    let lost = 0;
    media.on('lost', () => lost++);
    media.lose();
    expect(lost).toBe(1);
    await media.close();
    media.lose();
    expect(lost).toBe(1);
  });

  it('reads as masking while a key the worker heard under masking is reported, even if masking went off here since', () => {
    const { media } = session();
    const seen: boolean[] = [];
    media.on('dtmf', () => seen.push(media.dtmfMasking));
    media.setDtmfMasking(true);
    media.setDtmfMasking(false);
    media.deliverDtmf({ type: 'dtmf', session: 7, key: '4', method: 'inband', at: 1, durationMs: undefined, masked: true });
    media.deliverDtmf({ type: 'dtmf', session: 7, key: '4', method: 'inband', at: 2, durationMs: undefined, masked: false });
    expect(seen).toEqual([true, false]);
    expect(media.dtmfMasking).toBe(false);
  });

  it('a listener that throws does not stop the others, nor reach the message loop', () => {
    const { media } = session();
    const keys: string[] = [];
    media.on('dtmf', () => {
      throw new Error('listener bug');
    });
    media.on('dtmf', (event) => keys.push(event.key));
    expect(() => media.deliverDtmf({ type: 'dtmf', session: 7, key: '#', method: 'rfc4733', at: 1, durationMs: 80, masked: false })).not.toThrow();
    expect(keys).toEqual(['#']);
  });

  it('close() is one request however often it is called; afterwards nothing more is sent and play() is hangup', async () => {
    const { media, thread, closed } = session();
    await Promise.all([media.close(), media.close()]);
    expect(thread.requests.filter((r) => r.type === 'close')).toHaveLength(1);
    expect(closed()).toBe(1);
    const keys: string[] = [];
    media.on('dtmf', (event) => keys.push(event.key));
    const before = thread.notices.length + thread.requests.length;
    media.setDtmfMasking(true);
    media.stopPlayback();
    media.reportDtmf('1', 'info');
    expect(await media.play([{ silenceMs: 20 }])).toBe('hangup');
    expect(thread.notices.length + thread.requests.length).toBe(before);
    media.deliverDtmf({ type: 'dtmf', session: 7, key: '1', method: 'info', at: 1, durationMs: undefined, masked: false });
    expect(keys).toEqual([]);
  });
});
