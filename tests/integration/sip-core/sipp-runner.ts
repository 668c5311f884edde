import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { SipStreamFramer } from '../../../media-server/embedded/sip/message/index.js';
import { SipTransport } from '../../../media-server/embedded/sip/transport/sip-transport.js';
import { SourceFilter } from '../../../media-server/embedded/sip/transport/source-filter.js';
import { SipUserAgent, type SipUserAgentOptions } from '../../../media-server/embedded/sip/user-agent/index.js';

export const SCENARIOS = join(import.meta.dirname, 'scenarios');

/** A SIPp process run to completion: its exit code and what it printed. */
export interface SippRun {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or -signal) when SIPp exits. */
  readonly exit: Promise<number>;
  output(): string;
}

const running = new Set<ChildProcess>();

/**
 * Starts SIPp as a child process (never with -bg, which can hang a script):
 * one call (`-m 1`), no keyboard, a global timeout so a stuck scenario ends
 * on its own, in a temp directory so no log lands in the repository.
 */
export function runSipp(args: readonly string[], timeoutSeconds = 15): SippRun {
  const child = spawn('sipp', [...args, '-m', '1', '-nostdin', '-timeout', `${timeoutSeconds}s`, '-timeout_error'], {
    cwd: tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  const exit = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? (signal ? -1 : 0));
    });
    child.on('error', () => resolve(-2));
  });
  return { child, exit, output: () => text };
}

/** Kills every SIPp still running (afterEach). */
export function killStragglers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** SIPp's arguments for its own address: SIP on `port`, media on `port + 2` (it binds that and +2). */
export function sippAddress(port: number): string[] {
  return ['-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2)];
}

export interface TestUa {
  readonly ua: SipUserAgent;
  readonly transport: SipTransport;
  readonly port: number;
  stop(): Promise<void>;
}

/** A user agent on a real SipTransport (UDP and TCP) on 127.0.0.1:port. */
export async function startUa(port: number, options: Partial<SipUserAgentOptions> = {}): Promise<TestUa> {
  const allow = (options.allow as SourceFilter | undefined) ?? new SourceFilter();
  const transport = new SipTransport({
    host: '127.0.0.1',
    port,
    createFramer: (callbacks) => new SipStreamFramer(callbacks),
    acceptTcpFrom: (address) => allow.allows(address),
  });
  await transport.start();
  const ua = new SipUserAgent({
    transport,
    allow,
    contactHost: '127.0.0.1',
    contactPort: port,
    userAgent: 'payment-ivr-test',
    logger: pino({ level: process.env.SIP_TEST_LOG ?? 'silent' }),
    ...options,
  });
  await ua.start();
  return {
    ua,
    transport,
    port,
    stop: async () => {
      await ua.stop();
      await transport.stop();
    },
  };
}

/** Ports for one test: the UA on `base`, SIPp on `base + 10` (media `base + 12`, `base + 14`). */
let nextBase = 25060;
export function ports(): { ua: number; sipp: number } {
  const base = nextBase;
  nextBase += 20;
  return { ua: base, sipp: base + 10 };
}

export const SDP = [
  'v=0',
  'o=ivr 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 30000 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join('\r\n');
