import { EventEmitter } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { WAV_PCM_HEADER_LENGTH, writePcm16WavHeader } from '../../../media-server/embedded/media/wav-format.js';
import type Mrf from 'drachtio-fsmrf';
import { SipError } from './sip-error.js';
import type { MrfConnector } from '../../../media-server/freeswitch/startup-connections.js';

/**
 * A fake FreeSWITCH behind a fake drachtio-fsmrf, standing exactly at
 * drachtio-fsmrf 4.1's public API (Mrf#connect, MediaServer#createEndpoint,
 * Endpoint#play/execute/api/set/recordSession/bridge/unbridge/modify/destroy,
 * the 'dtmf' and 'destroy' events). Each Endpoint method is turned into the
 * event-socket command drachtio-fsmrf sends for it (read from its
 * lib/endpoint.js), and every command is kept in `commands`, in order:
 *
 *   execute <uuid> <application> [<argument>]   (sendmsg execute on the channel's outbound socket)
 *   api <command> <arguments>                   (api on the channel's socket)
 *   sip <what> <uuid>                           (a SIP transaction between drachtio and FreeSWITCH)
 *
 * Underneath, a small model of the FreeSWITCH behaviour the adapter relies
 * on, as read in FreeSWITCH's source (cited in
 * media-server/freeswitch/freeswitch-commands.ts), so that the same
 * flow-level tests can ask "which keys reached the other party, which are in
 * the recording":
 *   - RFC 2833 keys are reported (DTMF-Source RTP) and, on a bridged channel,
 *     regenerated on the peer unless the channel has bridge_filter_dtmf=true;
 *   - in-band tones are reported (INBAND_AUDIO) only once spandsp_start_dtmf
 *     ran; they reach a bridged peer unless uuid_audio mutes the channel's
 *     read path, or a `playback` runs on the bridged channel (it takes the
 *     party's frames in the bridge's loop; uuid_displace does not); they are in the channel's record_session file unless
 *     uuid_record masks it (the recorder's media bug precedes the mute's);
 *   - SIP INFO never reaches FreeSWITCH (it ends at drachtio-server).
 * Anything else the adapter sends is refused loudly (`refused`).
 */

export type FakeKeyMethod = 'rfc4733' | 'inband';

/** What a bridged channel's party received of the peer's keys. */
export interface HeardKey {
  readonly key: string;
  readonly as: 'rfc2833' | 'tone';
}

interface Playback {
  readonly finish: () => void;
}

/** One FreeSWITCH channel (a leg's media). */
export class FakeChannel {
  readonly vars = new Map<string, string>();
  readonly heard: HeardKey[] = [];
  alive = true;
  detecting = false;
  readMuted = false;
  bridgedTo: FakeChannel | undefined;
  recording: { path: string; masked: boolean } | undefined;
  playback: Playback | undefined;
  /** Files uuid_displace plays to this channel's party. */
  readonly displacing = new Set<string>();
  remoteSdp: string;
  endpoint!: FakeEndpoint;

  constructor(
    readonly uuid: string,
    remoteSdp: string,
  ) {
    this.remoteSdp = remoteSdp;
  }
}

export interface FakeFreeswitchOptions {
  /** How long a file's `playback` lasts unless broken (silence_stream://<ms> lasts its length). Default 20 ms. */
  readonly playbackMs?: number;
}

/** The FreeSWITCH model: channels, bridges, recordings and the command log. */
export class FakeFreeswitch {
  readonly commands: string[] = [];
  /** Commands the model does not know: the adapter issued something FreeSWITCH would refuse. */
  readonly refused: string[] = [];
  readonly channels = new Map<string, FakeChannel>();
  /** Keys audible in each recording file, in order. */
  readonly recordings = new Map<string, string[]>();
  readonly playbackMs: number;
  #next = 1;

  constructor(options: FakeFreeswitchOptions = {}) {
    this.playbackMs = options.playbackMs ?? 20;
  }

  /** The command lines that name this channel. */
  commandsFor(uuid: string): string[] {
    return this.commands.filter((c) => c.split(' ').includes(uuid));
  }

  newChannel(remoteSdp: string): FakeChannel {
    const channel = new FakeChannel(`fs-channel-${this.#next++}`, remoteSdp);
    this.channels.set(channel.uuid, channel);
    return channel;
  }

  channelWithRemoteSdp(sdp: string): FakeChannel | undefined {
    return [...this.channels.values()].find((c) => c.remoteSdp === sdp && c.alive);
  }

  /** The party on `channel` presses a key. */
  press(channel: FakeChannel, key: string, method: FakeKeyMethod): void {
    if (!channel.alive) throw new Error(`channel ${channel.uuid} is gone`);
    if (method === 'rfc4733') {
      channel.endpoint.emit('dtmf', { dtmf: key, duration: '800', source: 'RTP' });
      // switch_ivr_bridge.c: chan_a's queued DTMF goes to the peer unless bridge_filter_dtmf.
      if (channel.bridgedTo && channel.vars.get('bridge_filter_dtmf') !== 'true') channel.bridgedTo.heard.push({ key, as: 'rfc2833' });
      return;
    }
    if (channel.detecting) channel.endpoint.emit('dtmf', { dtmf: key, duration: '800', source: 'INBAND_AUDIO' });
    if (channel.bridgedTo && !channel.readMuted && !channel.playback) channel.bridgedTo.heard.push({ key, as: 'tone' });
    if (channel.recording && !channel.recording.masked) this.recordings.get(channel.recording.path)?.push(key);
  }

  /** FreeSWITCH ends a channel on its own (restart, media timeout). */
  killChannel(channel: FakeChannel): void {
    this.#hangup(channel);
    channel.endpoint.emit('destroy', { reason: 'NORMAL_TEMPORARY_FAILURE' });
  }

  execute(channel: FakeChannel, app: string, arg: string | undefined): Promise<EslEvent> {
    this.commands.push(`execute ${channel.uuid} ${app}${arg === undefined || arg === '' ? '' : ` ${arg}`}`);
    if (!channel.alive) return Promise.resolve(new EslEvent({ 'Application-Response': '-ERR channel gone' }, ''));
    switch (app) {
      case 'set': {
        const at = (arg ?? '').indexOf('=');
        channel.vars.set((arg ?? '').slice(0, at), (arg ?? '').slice(at + 1));
        return done(app);
      }
      case 'spandsp_start_dtmf':
        channel.detecting = true;
        return done(app);
      case 'record_session': {
        const path = arg ?? '';
        // switch_ivr_record_session opens the file (libsndfile writes a 44-byte WAV header: RECORD_STEREO,
        // 8 kHz, no audio yet) before it completes.
        try {
          const header = Buffer.alloc(WAV_PCM_HEADER_LENGTH);
          writePcm16WavHeader(header, 8000, 2, 0);
          writeFileSync(path, header);
        } catch {
          return Promise.resolve(new EslEvent({ Application: 'record_session', 'Application-Response': '-ERR' }, ''));
        }
        channel.recording = { path, masked: false };
        this.recordings.set(path, []);
        return done(app);
      }
      case 'playback':
        return this.#playback(channel, arg ?? '');
      case 'hangup':
        this.#hangup(channel);
        return done(app);
      default:
        this.refused.push(`execute ${app}`);
        return Promise.reject(new Error(`fake FreeSWITCH: no application ${app}`));
    }
  }

  api(command: string, args: string): EslEvent {
    this.commands.push(`api ${command} ${args}`);
    const argv = args.split(' ');
    const channel = this.channels.get(argv[0] ?? '');
    const reply = (body: string): EslEvent => new EslEvent({ 'Content-Type': 'api/response' }, body);
    if (!channel || !channel.alive) return reply('-ERR No such channel!\n');
    switch (command) {
      case 'uuid_audio':
        // mod_commands.c: <uuid> [start [read|write] [mute|level <level>]|stop]
        if (argv[1] === 'stop' && argv.length === 2) {
          channel.readMuted = false;
          return reply('+OK\n');
        }
        if (argv[1] === 'start' && argv[2] === 'read' && argv[3] === 'mute' && argv.length === 5) {
          channel.readMuted = Number(argv[4]) !== 0;
          return reply('+OK\n');
        }
        return reply('-USAGE: <uuid> [start [read|write] [mute|level <level>]|stop]\n');
      case 'uuid_record': {
        // <uuid> [start|stop|mask|unmask] <path>: the media bug is found by its path.
        const [, action, path] = argv;
        if (!channel.recording || channel.recording.path !== path || argv.length !== 3) return reply('-ERR Cannot locate recording!\n');
        if (action === 'mask' || action === 'unmask') channel.recording.masked = action === 'mask';
        else if (action === 'stop') channel.recording = undefined;
        else return reply('-USAGE\n');
        return reply('+OK Success\n');
      }
      case 'uuid_displace': {
        // switch_ivr_displace_session: <uuid> start <file> <limit> <flags> | stop <file>; one displace per file.
        const [, action, file] = argv;
        if (action === 'start' && argv.length === 5 && argv[3] === '0' && argv[4] === 'mux') {
          if (!existsSync(file ?? '') || channel.displacing.has(file ?? '')) return reply('-ERR Cannot displace session!\n');
          channel.displacing.add(file ?? '');
          return reply('+OK\n');
        }
        if (action === 'stop' && argv.length === 3) return reply(channel.displacing.delete(file ?? '') ? '+OK\n' : '-ERR Cannot stop displace session!\n');
        return reply('-USAGE: <uuid> [start|stop] <path> [<limit>] [mux]\n');
      }
      case 'uuid_break':
        if (argv[1] !== 'all' || argv.length !== 2) return reply('-USAGE\n');
        channel.playback?.finish();
        return reply('+OK\n');
      case 'uuid_bridge': {
        const other = this.channels.get(argv[1] ?? '');
        if (!other?.alive || argv.length !== 2) return reply('-ERR Invalid uuid\n');
        channel.bridgedTo = other;
        other.bridgedTo = channel;
        return reply(`+OK ${other.uuid}\n`);
      }
      case 'uuid_transfer':
        if (args !== `${channel.uuid} -both park inline`) return reply('-USAGE\n');
        this.#unbridge(channel);
        return reply('+OK\n');
      default:
        this.refused.push(`api ${command}`);
        return reply(`-ERR ${command} Command not found!\n`);
    }
  }

  /** What the party on `channel` received of its bridged peer's keys. */
  keysHeardBy(channel: FakeChannel): string {
    return channel.heard.map((h) => h.key).join('');
  }

  #playback(channel: FakeChannel, arg: string): Promise<EslEvent> {
    const delimiter = channel.vars.get('playback_delimiter');
    const files = delimiter ? arg.split(delimiter) : [arg];
    // switch_ivr_play_file: a missing file ends the playback with FILE NOT FOUND.
    if (files.some((f) => !f.startsWith('silence_stream://') && !existsSync(f))) {
      return Promise.resolve(new EslEvent({ Application: 'playback', 'Application-Response': 'FILE NOT FOUND' }, ''));
    }
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        if (channel.playback === playback) channel.playback = undefined;
        resolve(new EslEvent({ Application: 'playback', 'Application-Response': 'FILE PLAYED' }, ''));
      };
      // A silence_stream://<ms> lasts its length; a file, playbackMs.
      const ms = files.reduce((sum, f) => sum + (f.startsWith('silence_stream://') ? Number(f.slice('silence_stream://'.length)) : this.playbackMs), 0);
      const timer = setTimeout(finish, ms);
      const playback: Playback = { finish };
      channel.playback = playback;
    });
  }

  #hangup(channel: FakeChannel): void {
    if (!channel.alive) return;
    channel.alive = false;
    channel.playback?.finish();
    channel.recording = undefined;
    this.#unbridge(channel);
  }

  #unbridge(channel: FakeChannel): void {
    const peer = channel.bridgedTo;
    channel.bridgedTo = undefined;
    // park_after_bridge=true (the dialplan): the peer stays up, parked.
    if (peer) peer.bridgedTo = undefined;
  }
}

function done(app: string): Promise<EslEvent> {
  return Promise.resolve(new EslEvent({ Application: app, 'Application-Response': '_none_' }, ''));
}

/** drachtio-modesl's Event, as far as the adapter reads it. */
export class EslEvent implements Mrf.EslEvent {
  constructor(
    readonly headers: Readonly<Record<string, string>>,
    readonly body: string,
  ) {}

  getHeader(name: string): string | undefined {
    return this.headers[name];
  }

  getBody(): string {
    return this.body;
  }
}

/** A fake FreeSWITCH SDP: what the channel offers or answers with. */
function freeswitchSdp(channel: FakeChannel): string {
  return ['v=0', `o=FreeSWITCH 1 1 IN IP4 127.0.0.1`, 's=FreeSWITCH', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${20000 + Number(channel.uuid.split('-').pop())} RTP/AVP 0 8 101`, 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=ptime:20', ''].join('\r\n');
}

/** drachtio-fsmrf's Endpoint, over one model channel. */
export class FakeEndpoint extends EventEmitter implements Mrf.Endpoint {
  readonly uuid: string;
  readonly local: { sdp: string };
  readonly remote: { sdp: string };
  readonly dialog: Mrf.EndpointDialog;
  readonly #fs: FakeFreeswitch;
  readonly #channel: FakeChannel;

  constructor(fs: FakeFreeswitch, channel: FakeChannel) {
    super();
    this.#fs = fs;
    this.#channel = channel;
    this.uuid = channel.uuid;
    this.local = { sdp: freeswitchSdp(channel) };
    this.remote = { sdp: channel.remoteSdp };
    this.dialog = { destroy: () => Promise.resolve() };
    channel.endpoint = this;
  }

  get channel(): FakeChannel {
    return this.#channel;
  }

  /** lib/endpoint.js#play: several files are joined with playback_delimiter=! (set first). */
  async play(file: string | string[]): Promise<Mrf.PlaybackResults> {
    const files = Array.isArray(file) ? file : [file];
    if (files.length !== 1) await this.execute('set', 'playback_delimiter=!');
    const evt = await this.execute('playback', files.join('!'));
    if (evt.getHeader('Application-Response') === 'FILE NOT FOUND') throw new Error('File Not Found');
    return { playbackSeconds: '0', playbackMilliseconds: String(this.#fs.playbackMs) };
  }

  execute(app: string, arg?: string): Promise<Mrf.EslEvent> {
    return this.#fs.execute(this.#channel, app, arg);
  }

  async api(command: string, args: string | string[] = []): Promise<Mrf.EslEvent> {
    return this.#fs.api(command, Array.isArray(args) ? args.join(' ') : args);
  }

  /** lib/endpoint.js#set (setOrExport): one `set name=value` per variable given by name. */
  async set(name: string, value: string): Promise<void> {
    await this.execute('set', `${name}=${value}`);
  }

  /** endpointApps.recordSession: `record_session` with the arguments joined by spaces. */
  recordSession(...args: string[]): Promise<Mrf.EslEvent> {
    return this.execute('record_session', args.join(' '));
  }

  /** lib/endpoint.js#bridge: `uuid_bridge <this> <other>`, +OK or an Error with the body. */
  async bridge(other: Mrf.Endpoint | string): Promise<void> {
    const body = (await this.api('uuid_bridge', [this.uuid, typeof other === 'string' ? other : other.uuid])).getBody();
    if (!body.startsWith('+OK')) throw new Error(body);
  }

  /** lib/endpoint.js#unbridge: `uuid_transfer <this> -both park inline`. */
  async unbridge(): Promise<void> {
    const body = (await this.api('uuid_transfer', [this.uuid, '-both', 'park', 'inline'])).getBody();
    if (!body.startsWith('+OK')) throw new Error(body);
  }

  /** lib/endpoint.js#modify: a re-INVITE to FreeSWITCH through drachtio; resolves with its answer. */
  async modify(sdp: string): Promise<string> {
    this.#fs.commands.push(`sip re-INVITE ${this.uuid}`);
    if (!this.#channel.alive) throw new SipError(481);
    this.#channel.remoteSdp = sdp;
    this.remote.sdp = sdp;
    return this.local.sdp;
  }

  /** lib/endpoint.js#destroy: `hangup` on the channel (once). */
  async destroy(): Promise<void> {
    if (!this.#channel.alive) return;
    await this.execute('hangup');
  }
}

/** drachtio-fsmrf's MediaServer. */
export class FakeMediaServer extends EventEmitter implements Mrf.MediaServer {
  up = true;
  disconnected = false;
  readonly #conn = new EventEmitter();

  constructor(readonly fs: FakeFreeswitch) {
    super();
  }

  /** The inbound event socket connection: emits 'esl::ready' when it is back. */
  get conn(): EventEmitter {
    return this.#conn;
  }

  /** FreeSWITCH's address, as its event socket connection sees it. */
  get address(): string {
    return '127.0.0.1';
  }

  connected(): boolean {
    return this.up && !this.disconnected;
  }

  /**
   * lib/mediaserver.js#createEndpoint: an INVITE to FreeSWITCH; with a
   * remote SDP and codecs, the new Endpoint sets codec_string; without one
   * (3pcc) FreeSWITCH's offer is `local.sdp`. FreeSWITCH answers 488 to an
   * offer without a codec it has.
   */
  async createEndpoint(options: Mrf.EndpointOptions = {}): Promise<FakeEndpoint> {
    if (options.remoteSdp !== undefined && !/RTP\/AVP( \d+)* (0|8)( |\r|$)/m.test(options.remoteSdp)) throw new SipError(488);
    const channel = this.fs.newChannel(options.remoteSdp ?? '');
    this.fs.commands.push(`sip INVITE ${channel.uuid}${options.remoteSdp ? '' : ' (3pcc)'}`);
    const endpoint = new FakeEndpoint(this.fs, channel);
    const codecs = typeof options.codecs === 'string' ? [options.codecs] : options.codecs;
    if (options.remoteSdp && codecs?.length) await endpoint.execute('set', `codec_string=${codecs.join(',')}`);
    return endpoint;
  }

  async api(command: string): Promise<string> {
    const [name, ...rest] = command.split(' ');
    return this.fs.api(name ?? '', rest.join(' ')).getBody();
  }

  /** lib/mediaserver.js#connectCaller with an RTP/SAVP offer: not simulated here (the real stack's test covers it). */
  async connectCaller(): Promise<{ endpoint: FakeEndpoint; dialog: unknown }> {
    throw new SipError(488);
  }

  disconnect(): void {
    this.disconnected = true;
  }
}

/** How a fake Mrf#connect behaves. */
export type FakeMrfConnect = 'ok' | 'refused' | 'acl' | 'silent';

/** drachtio-fsmrf's Mrf: `connect(options)` gives the FakeMediaServer. */
export class FakeMrf implements MrfConnector {
  readonly connects: Mrf.ConnectOptions[] = [];

  constructor(
    readonly mediaServer: FakeMediaServer,
    readonly behaviour: FakeMrfConnect = 'ok',
  ) {}

  connect(options: Mrf.ConnectOptions): Promise<Mrf.MediaServer> {
    this.connects.push(options);
    switch (this.behaviour) {
      case 'ok':
        return Promise.resolve(this.mediaServer);
      case 'refused':
        return Promise.reject(Object.assign(new Error(`connect ECONNREFUSED ${options.address}:${options.port}`), { code: 'ECONNREFUSED' }));
      case 'acl':
        // lib/mrf.js: FreeSWITCH's text/rude-rejection
        return Promise.reject(new Error('acl-error'));
      case 'silent':
        return new Promise(() => undefined);
    }
  }
}
