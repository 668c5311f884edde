/**
 * Debian's baresip (1.0) as an independent SIP phone for the integration
 * tests: SIP over TLS and SRTP with SDES keys (its `srtp` module), RFC 4733
 * keys, driven through its ctrl_tcp interface (netstring-framed JSON
 * commands and events) from a configuration generated in a temporary
 * folder. It sends a WAV file as its voice (the `aufile` source), plays what
 * it hears nowhere (the `aubridge` player) and, asked to, keeps what it
 * decoded in a WAV file (the `sndfile` filter): the audio a person at this
 * phone would have heard, after SRTP and G.711.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWavFile } from '../../media-server/embedded/media/wav-reader.js';
import { WAV_PCM_HEADER_LENGTH, writePcm16WavHeader } from '../../media-server/embedded/media/wav-format.js';
import { freePort, tcpFree, udpFree } from '../../tools/sipp/sipp-process.js';

export interface BaresipPhoneOptions {
  /** The user part of the phone's account (`sip:<user>@127.0.0.1`). */
  readonly user: string;
  /** The CA that verifies the certificates of the TLS peers it connects to (`sip_cafile`). */
  readonly caFile: string;
  /** Its own certificate and key (PEM): needed to be called over TLS. Default none (it only calls out). */
  readonly certificate?: { readonly certFile: string; readonly keyFile: string };
  /** `srtp-mand` refuses plain RTP; `none` offers plain RTP. Default `srtp-mand`. */
  readonly mediaEncryption?: 'srtp-mand' | 'none';
  /** `auto` answers every incoming call at once. Default `manual`. */
  readonly answerMode?: 'manual' | 'auto';
  /** Its voice: 8 kHz mono samples, sent once (a call must end before it does). */
  readonly voice: Int16Array;
  /** Its Digest password, to answer a 401/407 (the account's `auth_pass`). Default none. */
  readonly password?: string;
  /** Keep what it decoded from its peer in a WAV file (see `heard()`). Default false. */
  readonly keepHeardAudio?: boolean;
}

/** One ctrl_tcp event, e.g. `{ type: 'CALL_ESTABLISHED', param: 'sip:…' }`. */
export interface BaresipEvent {
  readonly type: string;
  readonly param?: string;
  readonly peeruri?: string;
}

/** baresip did not start, or a command failed or timed out. */
export class BaresipError extends Error {
  override readonly name = 'BaresipError';
}

const running = new Set<ChildProcess>();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A port P free for UDP and TCP with P+1 free for TCP: baresip listens on both (TLS on P+1). */
async function sipListenPort(base: number): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort(base);
    if ((await tcpFree(port + 1)) && (await udpFree(port + 1))) return port;
  }
  throw new BaresipError('no free port pair for baresip');
}

function wavOf(samples: Int16Array): Buffer {
  const wav = Buffer.alloc(WAV_PCM_HEADER_LENGTH + samples.length * 2);
  writePcm16WavHeader(wav, 8000, 1, samples.length * 2);
  for (let i = 0; i < samples.length; i++) wav.writeInt16LE(samples[i]!, WAV_PCM_HEADER_LENGTH + i * 2);
  return wav;
}

export class BaresipPhone {
  /** Every event it reported, in order. */
  readonly events: BaresipEvent[] = [];
  /** The account's address: `sip:<user>@127.0.0.1:<port>;transport=tls` reaches its TLS listener. */
  readonly tlsUri: string;
  /** Its RTP ports (first..last), for a capture filter. */
  readonly rtpPorts: readonly [number, number];
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #control: Socket;
  #output = '';
  #pending = '';
  readonly #waiters = new Set<() => void>();

  private constructor(child: ChildProcess, dir: string, control: Socket, tlsUri: string, rtpPorts: [number, number], output: string) {
    this.#child = child;
    this.#dir = dir;
    this.#control = control;
    this.tlsUri = tlsUri;
    this.rtpPorts = rtpPorts;
    this.#output = output;
    child.stdout?.on('data', (d: Buffer) => (this.#output += d.toString('latin1')));
    child.stderr?.on('data', (d: Buffer) => (this.#output += d.toString('latin1')));
    control.on('data', (d: Buffer) => this.#read(d.toString('latin1')));
  }

  /** Writes the configuration, starts `baresip -s -f <dir>` and connects to its ctrl_tcp port. */
  static async start(options: BaresipPhoneOptions): Promise<BaresipPhone> {
    const dir = mkdtempSync(join(tmpdir(), 'baresip-'));
    const sipPort = await sipListenPort(44000);
    const controlPort = await freePort(45000);
    const rtpBase = await freePort(46000);
    const rtpPorts: [number, number] = [rtpBase, rtpBase + 9];
    writeFileSync(join(dir, 'voice.wav'), wavOf(options.voice));
    const certificate = options.certificate;
    if (certificate) {
      // baresip reads its key and certificate from one PEM file.
      writeFileSync(join(dir, 'cert.pem'), Buffer.concat([readFileSync(certificate.certFile), readFileSync(certificate.keyFile)]), { mode: 0o600 });
    }
    const keep = options.keepHeardAudio ?? false;
    writeFileSync(join(dir, 'config'), [
      'poll_method epoll',
      `sip_listen 127.0.0.1:${sipPort}`,
      `sip_cafile ${options.caFile}`,
      ...(certificate ? [`sip_certificate ${join(dir, 'cert.pem')}`] : []),
      'call_local_timeout 60',
      `audio_source aufile,${join(dir, 'voice.wav')}`,
      'audio_player aubridge,nil',
      'audio_alert aubridge,nil',
      `rtp_ports ${rtpPorts[0]}-${rtpPorts[1]}`,
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module aubridge.so',
      ...(keep ? ['module sndfile.so', `snd_path ${dir}`] : []),
      'module srtp.so',
      'module_tmp account.so',
      'module_app menu.so',
      'module_app ctrl_tcp.so',
      `ctrl_tcp_listen 127.0.0.1:${controlPort}`,
      // No status line every few hundred ms in the output.
      'statmode_default off',
      '',
    ].join('\n'));
    const encryption = (options.mediaEncryption ?? 'srtp-mand') === 'none' ? '' : `;mediaenc=${options.mediaEncryption ?? 'srtp-mand'}`;
    const password = options.password === undefined ? '' : `;auth_pass=${options.password}`;
    writeFileSync(join(dir, 'accounts'), `<sip:${options.user}@127.0.0.1;transport=tls>;regint=0;audio_codecs=pcmu${encryption};answermode=${options.answerMode ?? 'manual'}${password}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'contacts'), '');

    // -s: its SIP trace (plain text, before TLS) goes to its own output, which the tests read.
    const child = spawn('baresip', ['-s', '-f', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.on('exit', () => running.delete(child));
    let output = '';
    const collect = (d: Buffer): void => void (output += d.toString('latin1'));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const deadline = Date.now() + 10_000;
    while (!output.includes('baresip is ready')) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new BaresipError(`baresip did not start:\n${output}`);
      }
      await sleep(50);
    }
    child.stdout.off('data', collect);
    child.stderr.off('data', collect);
    const control = await new Promise<Socket>((resolve, reject) => {
      const socket = connect(controlPort, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    });
    return new BaresipPhone(child, dir, control, `sip:${options.user}@127.0.0.1:${sipPort + 1};transport=tls`, rtpPorts, output);
  }

  /** Everything it printed: its log and its SIP trace (SDP and a=crypto keys included: test data only). */
  get output(): string {
    return this.#output;
  }

  /** The SIP messages of its trace, each from its first line, in order (each is preceded by a "TLS a -> b" line). */
  sipMessages(): string[] {
    return this.#output.split(/^(?:TLS|TCP|UDP) \S+ -> \S+\r?$/m).slice(1).map((m) => m.trimStart());
  }

  /** Calls `uri` (`sip:…;transport=tls`). */
  dial(uri: string): void {
    this.#command('dial', uri);
  }

  /**
   * Keys `digits` as RFC 4733 events, one `sndcode` a key, `gapMs` apart (a
   * key's press and release go in one command: a short event, as a phone's
   * quick press).
   */
  async press(digits: string, gapMs = 250): Promise<void> {
    for (const digit of digits) {
      this.#command('sndcode', digit);
      await sleep(gapMs);
    }
  }

  hangup(): void {
    this.#command('hangup', '');
  }

  /** Resolves with the first event of `type` (already seen or to come), or fails after `timeoutMs`. */
  async event(type: string, timeoutMs: number): Promise<BaresipEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.type === type);
      if (found) return found;
      if (Date.now() > deadline) throw new BaresipError(`no ${type} event in ${timeoutMs} ms; events: ${this.events.map((e) => e.type).join(', ')}\n${this.#output.slice(-3000)}`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(1, deadline - Date.now()));
        this.#waiters.add(wake);
      });
    }
  }

  /** What it decoded from its peer during the call (with `keepHeardAudio`), once the call has ended. */
  async heard(): Promise<Int16Array> {
    const file = readdirSync(this.#dir).find((f) => f.startsWith('dump-') && f.endsWith('-dec.wav'));
    if (!file) throw new BaresipError(`no decoded audio in ${this.#dir}`);
    const audio = await readWavFile(join(this.#dir, file), { sampleRate: 8000, channels: 1 });
    return audio.toPcm16();
  }

  /** Asks it to quit, kills it if it has not within 3 s, and removes its folder. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
      this.#command('quit', '');
      // baresip 1.0 may wait on its transactions, and ignores SIGTERM while it does.
      const killer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    }
    this.#control.destroy();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #command(command: string, params: string): void {
    const json = JSON.stringify({ command, params, token: command });
    this.#control.write(`${Buffer.byteLength(json)}:${json},`);
  }

  /** Netstrings (`<length>:<json>,`): events kept, command responses checked. */
  #read(chunk: string): void {
    this.#pending += chunk;
    for (;;) {
      const head = /^(\d+):/.exec(this.#pending);
      if (!head) return;
      const length = Number(head[1]);
      if (this.#pending.length < head[0].length + length + 1) return;
      const message = JSON.parse(this.#pending.slice(head[0].length, head[0].length + length)) as Record<string, unknown>;
      this.#pending = this.#pending.slice(head[0].length + length + 1);
      if (message.event === true) {
        this.events.push({ type: String(message.type), param: message.param as string | undefined, peeruri: message.peeruri as string | undefined });
        for (const wake of [...this.#waiters]) wake();
      } else if (message.response === true && message.ok !== true) {
        this.events.push({ type: 'COMMAND_FAILED', param: `${String(message.token)}: ${String(message.data)}` });
      }
    }
  }
}

/** Kills every baresip a test left running (afterAll). */
export function killAllBaresip(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
