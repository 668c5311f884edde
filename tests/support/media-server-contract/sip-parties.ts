import { createSocket, type Socket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { createLogger } from '../../../app/logger.js';
import { type DtmfKey } from '../../../domain/dtmf-key.js';
import { dtmfEventCode, dtmfKeyFromEventCode } from '../../../media-server/embedded/media/dtmf-keypad.js';
import { PCMU } from '../../../media-server/embedded/media/g711.js';
import { RtpPacket } from '../../../media-server/embedded/media/rtp-packet.js';
import { TelephoneEvent } from '../../../media-server/embedded/media/telephone-event.js';
import { parseWav } from '../../../media-server/embedded/media/wav-reader.js';
import { SipStreamFramer } from '../../../media-server/embedded/sip/message/index.js';
import { SipTransport } from '../../../media-server/embedded/sip/transport/sip-transport.js';
import { SourceFilter } from '../../../media-server/embedded/sip/transport/source-filter.js';
import { SipUserAgent, type InviteSession } from '../../../media-server/embedded/sip/user-agent/sip-user-agent.js';
import { detectKeys, keySequence } from '../../unit/rtp/signals.js';
import type { MediaServer } from '../../../media-server/media-server-port.js';
import type { ContractCaller, ContractHarness, ContractPhone, PhoneBehaviour } from './contract.js';

/** A caller on a real network: its ears too. */
export interface SipContractCaller extends ContractCaller {
  /** How many G.711 frames the caller has received with sound in them (RMS over 300): prompts it heard. */
  loudFramesHeard(): number;
}

export interface SipContractHarness extends ContractHarness {
  call(options?: Parameters<ContractHarness['call']>[0]): Promise<SipContractCaller>;
}

/**
 * The parties of the contract on a real network: SIP over UDP and RTP on
 * 127.0.0.1, whatever answers the server's SIP port (the embedded media
 * server itself, or drachtio-server in front of FreeSWITCH). Each party is
 * the project's own SIP user agent on its own port and a plain UDP socket
 * for RTP that sends RFC 4733 events and G.711 tones and keeps what it
 * receives; a phone's ears are the RFC 4733 packets, the INFOs and the Q.24
 * detector over the audio it got.
 */

const logger = createLogger({ level: 'silent' });
const TELEPHONE_EVENT_PT = 101;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sdp(rtpPort: number, codecs: 'g711' | 'g729', direction: 'sendrecv' | 'sendonly' = 'sendrecv', version = 1): string {
  const lines = ['v=0', `o=party 4242 ${version} IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0'];
  if (codecs === 'g729') lines.push(`m=audio ${rtpPort} RTP/AVP 18`, 'a=rtpmap:18 G729/8000');
  else lines.push(`m=audio ${rtpPort} RTP/AVP 0 ${TELEPHONE_EVENT_PT}`, 'a=rtpmap:0 PCMU/8000', `a=rtpmap:${TELEPHONE_EVENT_PT} telephone-event/8000`, `a=fmtp:${TELEPHONE_EVENT_PT} 0-16`);
  lines.push('a=ptime:20', `a=${direction}`, '');
  return lines.join('\r\n');
}

/** A SIP user agent with an RTP socket: one party. */
class SipParty {
  readonly received: RtpPacket[] = [];
  readonly infoKeys: string[] = [];
  readonly #ssrc = Math.floor(Math.random() * 0xffffffff);
  #sequence = Math.floor(Math.random() * 0x7fff);
  readonly #t0 = performance.now();
  remoteRtpPort = 0;

  private constructor(
    readonly ua: SipUserAgent,
    readonly transport: SipTransport,
    readonly rtp: Socket,
  ) {
    rtp.on('message', (msg) => {
      try {
        this.received.push(RtpPacket.parse(msg));
      } catch {
        // not RTP
      }
    });
  }

  static async open(): Promise<SipParty> {
    const allow = new SourceFilter();
    // Port 0: a free port, UDP and TCP on the same number (the transport picks again if TCP's is taken).
    const transport = new SipTransport({ host: '127.0.0.1', port: 0, createFramer: (callbacks) => new SipStreamFramer(callbacks), acceptTcpFrom: (a) => allow.allows(a) });
    await transport.start();
    const ua = new SipUserAgent({ transport, allow, contactHost: '127.0.0.1', contactPort: transport.port, userAgent: 'port-contract', logger });
    await ua.start();
    const rtp = createSocket('udp4');
    await new Promise<void>((resolve) => rtp.bind(0, '127.0.0.1', resolve));
    return new SipParty(ua, transport, rtp);
  }

  get sipPort(): number {
    return this.transport.port;
  }

  get rtpPort(): number {
    return this.rtp.address().port;
  }

  useRemote(remoteSdp: string): void {
    this.remoteRtpPort = Number(/^m=audio (\d+)/m.exec(remoteSdp)?.[1] ?? 0);
  }

  /** The RTP clock: 8 kHz since the party opened, whole frames. */
  #timestamp(): number {
    return (Math.floor(((performance.now() - this.#t0) * 8) / 160) * 160) >>> 0;
  }

  #send(payloadType: number, timestamp: number, payload: Buffer, marker = false): void {
    const packet = new RtpPacket({ marker, payloadType, sequenceNumber: this.#sequence++ & 0xffff, timestamp: timestamp >>> 0, ssrc: this.#ssrc, payload });
    this.rtp.send(packet.serialize(), this.remoteRtpPort, '127.0.0.1');
  }

  /** RFC 4733 §2.5: start packets every 20 ms with a growing duration, then the end packet three times. */
  async sendEvent(key: DtmfKey): Promise<void> {
    const timestamp = this.#timestamp();
    const event = dtmfEventCode(key);
    for (let i = 1; i <= 5; i++) {
      this.#send(TELEPHONE_EVENT_PT, timestamp, new TelephoneEvent({ event, duration: i * 160 }).serialize(), i === 1);
      await sleep(20);
    }
    for (let i = 0; i < 3; i++) this.#send(TELEPHONE_EVENT_PT, timestamp, new TelephoneEvent({ event, end: true, duration: 6 * 160 }).serialize());
    await sleep(60);
  }

  /** The key's tone pair in the audio (100 ms, then 200 ms of silence), paced in real time. */
  async sendTones(key: DtmfKey): Promise<void> {
    const { pcm } = keySequence(key, { toneMs: 100, gapMs: 60, leadMs: 40, tailMs: 200 });
    const start = performance.now();
    const first = this.#timestamp();
    for (let f = 0; f * 160 < pcm.length; f++) {
      const wait = start + 20 * f - performance.now();
      if (wait > 0) await sleep(wait);
      const payload = Buffer.alloc(160);
      PCMU.encode(pcm.subarray(f * 160, f * 160 + 160), payload);
      this.#send(0, first + f * 160, payload, f === 0);
    }
  }

  /** Frames of G.711 received with sound in them (RMS over 300). */
  loudFrames(): number {
    const pcm = new Int16Array(160);
    let loud = 0;
    for (const p of this.received) {
      if (p.payloadType !== 0 || p.payload.length !== 160) continue;
      PCMU.decode(p.payload, pcm);
      if (Math.sqrt(pcm.reduce((sum, v) => sum + v * v, 0) / pcm.length) > 300) loud++;
    }
    return loud;
  }

  /** What reached this party of another's keys: RFC 4733 events, INFO and tones in its audio. */
  keysHeard(): string {
    const events: string[] = [];
    let lastTimestamp: number | undefined;
    for (const p of this.received.filter((r) => r.payloadType === TELEPHONE_EVENT_PT)) {
      if (p.timestamp === lastTimestamp) continue;
      lastTimestamp = p.timestamp;
      const key = dtmfKeyFromEventCode(TelephoneEvent.parse(p.payload).event);
      if (key) events.push(key);
    }
    const audio = this.received.filter((r) => r.payloadType === 0);
    const pcm = new Int16Array(audio.length * 160);
    audio.forEach((p, i) => PCMU.decode(p.payload, pcm.subarray(i * 160, i * 160 + p.payload.length)));
    return events.join('') + this.infoKeys.join('') + detectKeys(pcm).join('');
  }

  async close(): Promise<void> {
    await this.ua.stop();
    await this.transport.stop();
    await new Promise<void>((resolve) => this.rtp.close(() => resolve()));
  }
}

export interface SipPartiesOptions {
  /** Where callers send their INVITEs on 127.0.0.1. */
  readonly sipPort: number;
  /** ContractHarness#settle for this server. */
  readonly settle: () => Promise<void>;
  /** ContractHarness#recordingStartMs for this server. */
  readonly recordingStartMs?: number;
  /** After the server and the parties: stop what stands behind the server. */
  readonly afterClose?: () => Promise<void>;
}

/** The contract's harness for a started server reached over SIP and RTP on loopback. */
export function sipPartiesHarness(server: MediaServer, setting: SipPartiesOptions): SipContractHarness {
  const parties: SipParty[] = [];
  const party = async (): Promise<SipParty> => {
    const p = await SipParty.open();
    parties.push(p);
    return p;
  };

  return {
    server,
    async call(options = {}): Promise<SipContractCaller> {
      const caller = await party();
      const outgoing = caller.ua.invite(`sip:${options.user ?? 'pay'}@127.0.0.1:${setting.sipPort}`, {
        from: `<sip:caller@127.0.0.1:${caller.sipPort}>`,
        sdp: sdp(caller.rtpPort, options.codecs ?? 'g711'),
        ...(options.headers ? { headers: options.headers } : {}),
        timeoutMs: 10_000,
      });
      const referTargets: string[] = [];
      let version = 1;
      const dialog: Promise<InviteSession> = outgoing.dialog.then((d) => {
        caller.useRemote(d.remoteSdp);
        d.on('refer', (req) => referTargets.push(req.headers.get('Refer-To') ?? ''));
        return d;
      });
      const finalStatus = dialog.then(
        () => 200,
        (err: unknown) => (err as { status?: number }).status ?? 0,
      );
      const hungUpByServer = dialog.then((d) => new Promise<void>((resolve) => d.on('ended', (reason) => reason === 'remote-bye' && resolve())));
      hungUpByServer.catch(() => undefined);
      return {
        finalStatus,
        async press(keys, method) {
          const d = await dialog;
          for (const key of keys as Iterable<DtmfKey>) {
            if (method === 'rfc4733') await caller.sendEvent(key);
            else if (method === 'inband') await caller.sendTones(key);
            else await d.request('INFO', { body: Buffer.from(`Signal=${key}\r\nDuration=160\r\n`), contentType: 'application/dtmf-relay' });
          }
        },
        async hangUp() {
          await (await dialog).bye();
        },
        async cancel() {
          outgoing.cancel();
          await finalStatus;
        },
        hungUpByServer,
        async hold(on) {
          const d = await dialog;
          try {
            await d.reinvite(sdp(caller.rtpPort, 'g711', on ? 'sendonly' : 'sendrecv', ++version));
            return 200;
          } catch (err) {
            return (err as { status?: number }).status ?? 0;
          }
        },
        referTargets: () => referTargets,
        loudFramesHeard: () => caller.loudFrames(),
      };
    },

    async phone(behaviour: PhoneBehaviour): Promise<ContractPhone> {
      const phone = await party();
      let invite: { headers: (name: string) => string | undefined } | undefined;
      let resolveHungUp!: () => void;
      const hungUpByServer = new Promise<void>((resolve) => (resolveHungUp = resolve));
      phone.ua.on('invite', (incoming) => {
        invite = { headers: (name) => incoming.request.headers.get(name) };
        if (behaviour === 'busy') return incoming.reject(486, 'Busy Here');
        incoming.progress(180);
        if (behaviour === 'no-answer') return;
        phone.useRemote(incoming.sdp);
        void incoming.accept({ sdp: sdp(phone.rtpPort, 'g711') }).then((d) => {
          d.on('info', (req) => phone.infoKeys.push(/Signal=(.)/.exec(req.body.toString('latin1'))?.[1] ?? '?'));
          d.on('ended', (reason) => reason === 'remote-bye' && resolveHungUp());
        });
      });
      return {
        uri: `sip:agent@127.0.0.1:${phone.sipPort}`,
        async keysHeard() {
          // What is still in flight through the server's jitter buffer and bridge.
          await sleep(250);
          return phone.keysHeard();
        },
        hungUpByServer,
        inviteHeader: (name) => invite?.headers(name),
      };
    },

    settle: setting.settle,
    ...(setting.recordingStartMs === undefined ? {} : { recordingStartMs: setting.recordingStartMs }),

    async keysInRecording(path) {
      const wav = parseWav(await readFile(path), { channels: 2 });
      return detectKeys(wav.channel(0)).join('');
    },

    async close() {
      await server.stop();
      for (const p of parties) await p.close().catch(() => undefined);
      await setting.afterClose?.();
    },
  };
}
