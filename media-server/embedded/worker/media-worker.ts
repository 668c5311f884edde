import { PerformanceObserver } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { FramePipeReader, FramePipeWriter } from '../rtp/frame-pipe.js';
import { MediaClock } from '../rtp/media-clock.js';
import { PromptLoadError } from '../rtp/rtp-errors.js';
import { RtpPortAllocator } from '../rtp/rtp-port-allocator.js';
import { RtpSession, type SessionDtmfEvent } from '../rtp/rtp-session.js';
import type { SdesCrypto } from '../sdp/sdes-crypto.js';
import type { NegotiatedAudio } from '../sdp/sdp-negotiator.js';
import { raiseMediaClockThread } from './realtime-priority.js';
import type { MediaWorkerCommand, MediaWorkerData, MediaWorkerMessage, WorkerErrorData } from './media-worker-protocol.js';

/**
 * A media worker thread (MEDIA_WORKERS): the RTP sessions of the calls the
 * main thread placed here, on this thread's own media clock and its share
 * of the RTP ports. It runs the same `RtpSession` as the in-thread engine;
 * this file only turns the protocol's commands into session calls and the
 * sessions' key presses into messages. See `media-worker-protocol.ts` for
 * where a key (card digits included) travels.
 */

const port = parentPort;
if (!port) throw new Error('media-worker.ts runs as a worker thread (MediaWorkerPool)');
const data = workerData as MediaWorkerData;

function post(message: MediaWorkerMessage): void {
  port?.postMessage(message);
}

const logger = pino(
  { level: data.logLevel, base: { worker: data.index } },
  // Each line to the main thread's logger, which scrubs and writes it like its own.
  { write: (line: string) => post({ type: 'log', line }) },
);
const clock = new MediaClock({ onHandlerError: (err) => logger.error({ err }, 'media tick failed') });
const ports = new RtpPortAllocator({ host: data.rtpHost, min: data.rtpPortMin, max: data.rtpPortMax });
const sessions = new Map<number, RtpSession>();
/** Counters of the sessions already closed (an open one is read at each totals). */
const closedTotals = { packetsIn: 0, packetsOut: 0, late: 0, lost: 0, srtpAuthenticationFailures: 0, srtpReplayed: 0 };

/** GC pauses since the last totals, in a preallocated array (a few per second at most). */
const gcPauses = new Float64Array(256);
let gcCount = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (gcCount < gcPauses.length) gcPauses[gcCount++] = entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

function errorData(err: unknown): WorkerErrorData {
  if (err instanceof PromptLoadError) return { name: err.name, message: err.message, path: err.path };
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}

function reply(id: number, work: () => Promise<number | string | boolean | void> | number | string | boolean | void): void {
  Promise.resolve()
    .then(work)
    .then(
      (value) => post(value === undefined ? { type: 'reply', id, ok: true } : { type: 'reply', id, ok: true, value }),
      (err: unknown) => post({ type: 'reply', id, ok: false, error: errorData(err) }),
    );
}

function session(id: number): RtpSession {
  const found = sessions.get(id);
  if (!found) throw new RangeError(`no RTP session ${id} on media worker ${data.index}`);
  return found;
}

function retire(id: number, closed: RtpSession): void {
  if (!sessions.delete(id)) return;
  const stats = closed.stats();
  closedTotals.packetsIn += stats.packetsIn;
  closedTotals.packetsOut += stats.packetsOut;
  closedTotals.late += stats.late;
  closedTotals.lost += stats.lost;
  closedTotals.srtpAuthenticationFailures += stats.srtpAuthenticationFailures;
  closedTotals.srtpReplayed += stats.srtpReplayed;
}

async function open(id: number): Promise<number> {
  const media = await RtpSession.open({ allocator: ports, clock, maskMode: data.maskMode, logger });
  sessions.set(id, media);
  media.on('dtmf', (event: SessionDtmfEvent) => {
    // The one message that carries a key out of the worker: to the leg's `dtmf` listeners (the flow, the relay).
    post({ type: 'dtmf', session: id, key: event.key, method: event.method, at: event.at, durationMs: event.durationMs, masked: media.dtmfMasking });
  });
  return media.localPort;
}

/** The structured clone turned the SDES keys' Buffers into plain Uint8Arrays; the SRTP layer compares and reads them as Buffers. */
function withBufferKeys(negotiated: NegotiatedAudio): NegotiatedAudio {
  const srtp = negotiated.srtp;
  if (!srtp) return negotiated;
  const key = (crypto: SdesCrypto): SdesCrypto => ({ ...crypto, masterKey: asBuffer(crypto.masterKey), masterSalt: asBuffer(crypto.masterSalt) });
  return { ...negotiated, srtp: { ...srtp, local: key(srtp.local), remote: key(srtp.remote) } };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function handle(command: MediaWorkerCommand): void {
  switch (command.type) {
    case 'open':
      return reply(command.id, () => open(command.session));
    case 'close':
      return reply(command.id, async () => {
        const media = sessions.get(command.session);
        if (!media) return;
        await media.close();
        retire(command.session, media);
      });
    case 'set-remote':
      return session(command.session).setRemote(withBufferKeys(command.negotiated));
    case 'play':
      return reply(command.id, () => session(command.session).play(command.items, { bargeIn: command.bargeIn }));
    case 'stop-playback':
      return session(command.session).stopPlayback();
    case 'set-dtmf-masking':
      return session(command.session).setDtmfMasking(command.on);
    case 'set-muted':
      return session(command.session).setMuted(command.on);
    case 'start-recording':
      return reply(command.id, () => session(command.session).startRecording({ path: command.path }));
    case 'pause-recording':
      return reply(command.id, () => session(command.session).pauseRecording());
    case 'resume-recording':
      return reply(command.id, () => session(command.session).resumeRecording());
    case 'stop-recording':
      return reply(command.id, () => session(command.session).stopRecording());
    case 'report-dtmf':
      return session(command.session).reportDtmf(command.key, 'info', command.durationMs);
    case 'send-telephone-event':
      session(command.session).sendTelephoneEvent(command.key, command.durationMs);
      return;
    case 'link':
      return RtpSession.link(session(command.a), session(command.b));
    case 'unlink':
      RtpSession.unlink(session(command.a), session(command.b));
      return;
    case 'link-pipe':
      return session(command.session).linkPipe(new FramePipeWriter(command.out), new FramePipeReader(command.in));
    case 'unlink-pipe':
      return sessions.get(command.session)?.unlinkPipe();
  }
}

port.on('message', (command: MediaWorkerCommand) => {
  try {
    handle(command);
  } catch (err) {
    // A command without a reply (a session already closed, a bad codec the main thread let through): logged, never thrown.
    logger.warn({ err, command: command.type }, 'media worker command failed');
  }
});

setInterval(() => {
  const rtp = { ...closedTotals };
  for (const media of sessions.values()) {
    const stats = media.stats();
    rtp.packetsIn += stats.packetsIn;
    rtp.packetsOut += stats.packetsOut;
    rtp.late += stats.late;
    rtp.lost += stats.lost;
    rtp.srtpAuthenticationFailures += stats.srtpAuthenticationFailures;
    rtp.srtpReplayed += stats.srtpReplayed;
  }
  post({ type: 'totals', sessions: sessions.size, rtp, clock: clock.stats(), gcPausesMs: Array.from(gcPauses.subarray(0, gcCount)) });
  gcCount = 0;
}, data.totalsIntervalMs).unref();

raiseMediaClockThread(data.realtimePriority, 'media worker', logger);

post({ type: 'ready' });
