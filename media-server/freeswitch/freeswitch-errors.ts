/** What the FreeSWITCH adapter could not reach at start-up. */
export type MediaServerComponent = 'drachtio-server' | 'FreeSWITCH event socket';

/**
 * The adapter could not connect to drachtio-server or to FreeSWITCH at
 * start-up: refused, no answer in time, or the secret was rejected. Thrown
 * by `start()` instead of waiting for ever (both libraries retry without
 * end), so `npm start` stops with this one line.
 */
export class MediaServerConnectError extends Error {
  override readonly name = 'MediaServerConnectError';
  constructor(
    readonly component: MediaServerComponent,
    /** host:port tried. */
    readonly address: string,
    /** What went wrong, in a few words (ECONNREFUSED, no answer within 5000 ms, secret refused). */
    readonly problem: string,
    /** The settings that name this component. */
    readonly settings: string,
  ) {
    super(`MEDIA_SERVER=freeswitch: cannot use ${component} at ${address} (${problem}); check that it runs and ${settings}`);
  }
}

/** FreeSWITCH answered an API command with something other than +OK. */
export class FreeswitchCommandError extends Error {
  override readonly name = 'FreeswitchCommandError';
  constructor(
    readonly command: string,
    readonly reply: string,
  ) {
    super(`FreeSWITCH refused ${command}: ${reply.trim().split('\n')[0] ?? ''}`);
  }
}

/** A port operation on a leg that is not in a state for it (not answered yet, or gone). */
export class LegStateError extends Error {
  override readonly name = 'LegStateError';
}

/**
 * The app cannot see the recording FreeSWITCH writes, so it cannot keep
 * the recording's pause sidecar: both must see DATA_DIR/recordings at the
 * same path (the compose file mounts one volume into both).
 */
export class RecordingNotVisibleError extends Error {
  override readonly name = 'RecordingNotVisibleError';
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`FreeSWITCH's recording ${path} is not visible to the app: mount the recordings at the same path in both`, { cause });
  }
}
