/**
 * The production media path on this machine, for tests and the benchmark:
 * drachtio-server and FreeSWITCH as installed by ../shared/vendor/install.sh
 * (under /opt/payivr-telephony), on free loopback ports. FreeSWITCH runs on
 * a temporary copy of freeswitch-config/ (the files the docker-compose
 * deployment mounts) with its ports, addresses and secret given through
 * the same environment variables the compose file sets; drachtio-server
 * gets the compose file's command-line options. `stop()` ends exactly the
 * two processes started here, by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../app/project-root.js';
import { freePort, udpFree } from './sipp/sipp-process.js';

export const TELEPHONY_PREFIX = '/opt/payivr-telephony';
const FREESWITCH = join(TELEPHONY_PREFIX, 'freeswitch');
const DRACHTIO = join(TELEPHONY_PREFIX, 'drachtio/bin/drachtio');

/** Why the stack cannot run here, or undefined when it can (tests skip with this message). */
export function telephonyStackMissing(): string | undefined {
  if (existsSync(join(FREESWITCH, 'bin/freeswitch')) && existsSync(DRACHTIO)) return undefined;
  return `FreeSWITCH and drachtio-server are not installed under ${TELEPHONY_PREFIX}: run ../shared/vendor/install.sh (as root)`;
}

/** drachtio-server + FreeSWITCH could not be started. */
export class TelephonyStackError extends Error {
  override readonly name = 'TelephonyStackError';
}

export interface TelephonyStack {
  /** Where callers send SIP: drachtio-server's UDP contact on 127.0.0.1. */
  readonly sipPort: number;
  /** The two processes (drachtio-server, FreeSWITCH), for the benchmark's CPU and memory figures. */
  readonly pids: readonly number[];
  /** drachtio-server's TLS contact on 127.0.0.1, when started with `tls`. */
  readonly tlsPort: number | undefined;
  readonly drachtio: { readonly host: string; readonly port: number; readonly secret: string };
  readonly freeswitch: { readonly host: string; readonly port: number; readonly secret: string; readonly sipPort: number };
  /** The environment that points the app (MEDIA_SERVER=freeswitch) at this stack; FREESWITCH_LISTEN_PORT is free. */
  appEnv(): Promise<Record<string, string>>;
  /** What each server printed, for a failing test's message. */
  output(): string;
  /** Stops both (SIGTERM, then SIGKILL after 5 s) and removes the temporary folder. */
  stop(): Promise<void>;
}

export interface TelephonyStackOptions {
  /** FreeSWITCH's RTP ports: how many (even ports are used). Default 200; at most 200 under vitest, 10000 outside it. */
  readonly rtpPorts?: number;
  /** How long each server gets to come up. Default 20 s. */
  readonly startTimeoutMs?: number;
  /**
   * A TLS contact on drachtio-server (TLS 1.2+) with this certificate and key
   * (PEM files) and `chainFile`, the CA list sofia-sip loads (it will not bind
   * TLS without one) and verifies TLS peers with. Default: none.
   */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly chainFile: string };
  /** FreeSWITCH's SRTP policy (FREESWITCH_RTP_SECURE_MEDIA, both SDES suites). Default: off. */
  readonly srtp?: 'optional' | 'mandatory';
}

interface Started {
  readonly child: ChildProcess;
  readonly name: string;
  readonly exited: Promise<void>;
  readonly output: string[];
}

function start(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(chunk.toString('utf8'));
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  child.on('error', (err) => output.push(String(err)));
  return { child, name, exited, output };
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function waitFor(what: string, server: Started, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void server.exited.then(() => (gone = true));
  while (!(await ready())) {
    if (gone) throw new TelephonyStackError(`${server.name} exited before ${what}:\n${server.output.join('')}`);
    if (Date.now() > deadline) throw new TelephonyStackError(`${server.name}: no ${what} within ${timeoutMs} ms:\n${server.output.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freeSwitchLogTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-40).join('\n');
  } catch {
    return '';
  }
}

async function stopProcess(server: Started): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5000);
  await server.exited;
  clearTimeout(timer);
}

/**
 * A block of `count` RTP ports in 20000–23999, one per vitest worker, clear
 * of the embedded tests' ranges; outside vitest (the benchmark, which runs
 * alone), up to 20000–29999.
 */
function rtpRange(count: number): [number, number] {
  if (process.env.VITEST_POOL_ID === undefined) return [20000, 20000 + Math.min(count, 10_000) - 1];
  const worker = Number(process.env.VITEST_POOL_ID) % 20;
  const start = 20000 + worker * 200;
  return [start, start + Math.min(count, 200) - 1];
}

/** Starts drachtio-server and FreeSWITCH on loopback and waits until both answer. */
export async function startTelephonyStack(options: TelephonyStackOptions = {}): Promise<TelephonyStack> {
  const missing = telephonyStackMissing();
  if (missing) throw new TelephonyStackError(missing);
  // FreeSWITCH loads its modules in about 3 s on a quiet machine, several times that beside a busy suite.
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const dir = mkdtempSync(join(tmpdir(), 'telephony-stack-'));
  const conf = join(dir, 'conf');
  cpSync(join(projectRoot(), 'freeswitch-config'), conf, { recursive: true });
  for (const sub of ['log', 'db', 'run']) mkdirSync(join(dir, sub));

  const secrets = { drachtio: randomBytes(18).toString('hex'), freeswitch: randomBytes(18).toString('hex') };
  const sipPort = await freePort(25000);
  const drachtioPort = await freePort(25000);
  const eslPort = await freePort(25000);
  const mrfSipPort = await freePort(25000);
  const tlsPort = options.tls ? await freePort(25000) : undefined;
  const [rtpStart, rtpEnd] = rtpRange(options.rtpPorts ?? 200);
  const servers: Started[] = [];

  const stop = async (): Promise<void> => {
    await Promise.all(servers.map(stopProcess));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // The variables docker-compose.yml gives the freeswitch service, pointed at loopback.
    const fsEnv = {
      PATH: process.env.PATH ?? '',
      FREESWITCH_SECRET: secrets.freeswitch,
      FREESWITCH_BIND_IP: '127.0.0.1',
      FREESWITCH_ESL_LISTEN_IP: '127.0.0.1',
      FREESWITCH_ESL_PORT: String(eslPort),
      FREESWITCH_SIP_PORT: String(mrfSipPort),
      FREESWITCH_ESL_ALLOW: '127.0.0.1/32',
      FREESWITCH_SIP_ALLOW: '127.0.0.1/32',
      FREESWITCH_RTP_START: String(rtpStart),
      FREESWITCH_RTP_END: String(rtpEnd),
      ...(options.srtp ? { FREESWITCH_RTP_SECURE_MEDIA: `${options.srtp}:AES_CM_128_HMAC_SHA1_80:AES_CM_128_HMAC_SHA1_32` } : {}),
    };
    const fsArgs = ['-nonat', '-nc', '-nf', '-conf', conf, '-log', join(dir, 'log'), '-db', join(dir, 'db'), '-run', join(dir, 'run'), '-mod', join(FREESWITCH, 'lib/freeswitch/mod')];
    const freeswitch = start('FreeSWITCH', join(FREESWITCH, 'bin/freeswitch'), fsArgs, fsEnv);
    servers.push(freeswitch);
    // drachtio-server needs a file with its admin socket (the image ships one); the rest is
    // docker-compose.yml's command line, on loopback.
    writeFileSync(join(dir, 'drachtio.conf.xml'), `<drachtio><admin port="${drachtioPort}" secret="${secrets.drachtio}">127.0.0.1</admin></drachtio>\n`);
    const drArgs = ['-f', join(dir, 'drachtio.conf.xml'), '--contact', `sip:127.0.0.1:${sipPort};transport=udp`, '--loglevel', 'warning', '--sofia-loglevel', '0'];
    if (options.tls && tlsPort) {
      // drachtio-server (sofia-sip) binds TLS for a sips: contact only ("sip:…;transport=tls" fails to bind).
      drArgs.push('--contact', `sips:127.0.0.1:${tlsPort};transport=tls`, '--cert-file', options.tls.certFile, '--key-file', options.tls.keyFile, '--chain-file', options.tls.chainFile, '--min-tls-version', '1.2');
    }
    const drachtio = start('drachtio-server', DRACHTIO, drArgs, { PATH: process.env.PATH ?? '' });
    servers.push(drachtio);

    await waitFor('event socket', freeswitch, () => tcpOpen(eslPort), timeoutMs);
    await waitFor('drachtio_mrf SIP port', freeswitch, async () => !(await udpFree(mrfSipPort)), timeoutMs);
    await waitFor('application port', drachtio, () => tcpOpen(drachtioPort), timeoutMs);
    await waitFor('SIP port', drachtio, async () => !(await udpFree(sipPort)), timeoutMs);
    if (tlsPort) await waitFor('TLS SIP port', drachtio, () => tcpOpen(tlsPort), timeoutMs);
  } catch (err) {
    const log = freeSwitchLogTail(join(dir, 'log', 'freeswitch.log'));
    await stop();
    if (err instanceof TelephonyStackError && log) throw new TelephonyStackError(`${err.message}\nFreeSWITCH's log, last lines:\n${log}`);
    throw err;
  }

  return {
    sipPort,
    pids: servers.map((s) => s.child.pid).filter((pid): pid is number => pid !== undefined),
    tlsPort,
    drachtio: { host: '127.0.0.1', port: drachtioPort, secret: secrets.drachtio },
    freeswitch: { host: '127.0.0.1', port: eslPort, secret: secrets.freeswitch, sipPort: mrfSipPort },
    async appEnv() {
      return {
        MEDIA_SERVER: 'freeswitch',
        SIP_HOST: '127.0.0.1',
        SIP_PORT: String(sipPort),
        DRACHTIO_HOST: '127.0.0.1',
        DRACHTIO_PORT: String(drachtioPort),
        DRACHTIO_SECRET: secrets.drachtio,
        FREESWITCH_HOST: '127.0.0.1',
        FREESWITCH_PORT: String(eslPort),
        FREESWITCH_SECRET: secrets.freeswitch,
        FREESWITCH_LISTEN_HOST: '127.0.0.1',
        FREESWITCH_LISTEN_PORT: String(await freePort(25000)),
      };
    },
    output: () => servers.map((s) => `--- ${s.name}\n${s.output.join('')}`).join('\n'),
    stop,
  };
}
