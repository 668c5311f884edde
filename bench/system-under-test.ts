/**
 * The system the benchmark's steps drive: the app (`dist/app/main.js`) on one
 * media server. On FreeSWITCH, drachtio-server and FreeSWITCH run beside it
 * (tools/telephony-stack.ts) and do the media, so its CPU and RSS are the
 * three processes' together.
 */
import { freePort } from '../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../tools/system-process.js';
import { startTelephonyStack, type TelephonyStack } from '../tools/telephony-stack.js';
import { RTP_MAX, RTP_MIN } from './bench-support.js';

export type MediaServerKind = 'embedded' | 'freeswitch';

const MEDIA_SERVER_KINDS: readonly MediaServerKind[] = ['embedded', 'freeswitch'];

export interface SystemUnderTest {
  readonly kind: MediaServerKind;
  readonly system: RunningSystem;
  /** The processes whose CPU and RSS are the system's: the app, and on FreeSWITCH drachtio-server and FreeSWITCH. */
  readonly pids: readonly number[];
  /** Stops the app, then the telephony stack if any. */
  stop(): Promise<void>;
}

export interface SystemUnderTestOptions {
  /** A fresh data folder for the app. */
  readonly dataDir: string;
  /** Flags for node running the app (`--cpu-prof`). Default none. */
  readonly nodeArgs?: readonly string[];
  /** More settings for the app (the in-line steps' INLINE_ROUTE). */
  readonly env?: Readonly<Record<string, string>>;
}

/** `--media-servers embedded,freeswitch`: the kinds named, in order; a RangeError for any other name. */
export function parseMediaServers(text: string): MediaServerKind[] {
  const kinds = text.split(',').filter((k) => k !== '');
  for (const kind of kinds) {
    if (!MEDIA_SERVER_KINDS.includes(kind as MediaServerKind)) throw new RangeError(`unknown media server ${kind} (${MEDIA_SERVER_KINDS.join(', ')})`);
  }
  return kinds as MediaServerKind[];
}

/** Starts the app on `kind` (and on FreeSWITCH the telephony stack first, with the benchmark's RTP port range). */
export async function startSystemUnderTest(kind: MediaServerKind, options: SystemUnderTestOptions): Promise<SystemUnderTest> {
  let stack: TelephonyStack | undefined;
  try {
    stack = kind === 'freeswitch' ? await startTelephonyStack({ rtpPorts: RTP_MAX - RTP_MIN + 1 }) : undefined;
    const media = stack
      ? await stack.appEnv()
      : { SIP_PORT: String(await freePort(33000)), RTP_PORT_MIN: String(RTP_MIN), RTP_PORT_MAX: String(RTP_MAX + 1) };
    const system = await startSystem({
      ...media,
      DATA_DIR: options.dataDir,
      HTTP_PORT: String(await freePort(31000)),
      LOG_LEVEL: 'info',
      RECORDING: 'on',
      ...options.env,
    }, { run: 'compiled', nodeArgs: options.nodeArgs ?? [] });
    const started = stack;
    return {
      kind,
      system,
      pids: [system.pid, ...(stack?.pids ?? [])],
      async stop() {
        await system.stop();
        await started?.stop();
      },
    };
  } catch (err) {
    await stack?.stop();
    throw err;
  }
}
