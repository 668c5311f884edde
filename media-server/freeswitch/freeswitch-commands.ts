import type { AudioItem } from '../media-server-port.js';

/**
 * Every FreeSWITCH application and API command the adapter issues, in one
 * place, with the FreeSWITCH source that makes it do what the port needs.
 * FreeSWITCH has no single "mask DTMF" switch; three mechanisms together
 * keep a card number from the agent and from the recording:
 *
 * | what could leak               | mechanism                                  | where in FreeSWITCH                               |
 * |-------------------------------|--------------------------------------------|---------------------------------------------------|
 * | RFC 2833 event → agent        | `bridge_filter_dtmf=true` on every leg      | switch_ivr_bridge.c, audio_bridge_thread: queued DTMF of chan_a is dropped, never sent to the peer |
 * | SIP INFO digit → agent        | nothing to do: INFO ends at drachtio-server | the INFO is on our drachtio dialog; FreeSWITCH never sees it, and we never send one |
 * | in-band tone → agent          | `uuid_audio <leg> start read mute 1` while a field is keyed | switch_ivr_async.c, session_audio_callback: a READ_REPLACE media bug zeroes what the leg sends, after the detector's own bug (bugs run in the order added) |
 * | any key → recording           | `uuid_record <leg> mask <path>` around card capture | switch_ivr_async.c, record_callback: writes zeros while SMBF_MASK is set, so the file keeps its timeline |
 *
 * Prompts to a bridged leg are `uuid_displace` (see displace()), so the peer
 * keeps hearing the party through them.
 *
 * Detection is unaffected by the mute: `spandsp_start_dtmf` (started at
 * answer, before any mute) sees the caller's audio first and queues each
 * tone as a DTMF (source INBAND_AUDIO); RFC 2833 events are queued by the
 * RTP layer (source RTP). Both reach us as ESL DTMF events.
 */

/** In-band DTMF detection on what the leg sends (mod_spandsp, SAF_MEDIA_TAP). Started once, at answer. */
export const INBAND_DTMF_DETECTOR = 'spandsp_start_dtmf';

/**
 * Channel variables set on every leg at answer, before it can be bridged:
 * `bridge_filter_dtmf` is read once when the bridge thread starts.
 */
export const LEG_VARIABLES: readonly (readonly [name: string, value: string])[] = [['bridge_filter_dtmf', 'true']];

/** Set before `record_session`: caller (read) on the left channel, what we send (write) on the right. */
export const RECORD_STEREO: readonly [string, string] = ['RECORD_STEREO', 'true'];

/**
 * Set before `record_session`: each frame reaches the file as it is
 * recorded, not 64 KB (about 2 s of stereo audio) at a time
 * (switch_ivr_async.c, switch_ivr_record_session_event:
 * SWITCH_DEFAULT_FILE_BUFFER_LEN), so that the file's size says where the
 * recording stands when it is masked and unmasked (recording-timeline.ts).
 */
export const RECORD_UNBUFFERED: readonly [string, string] = ['enable_file_write_buffering', 'false'];

/** An API command: the command name and its argument string. */
export type ApiCommand = readonly [command: string, args: string];

/**
 * Mutes (zeros) or restores what the leg sends to any other leg. `mute 1`:
 * memset 0 (a level above 1 would be comfort noise); `stop` removes the bug.
 */
export function readMute(uuid: string, on: boolean): ApiCommand {
  return ['uuid_audio', on ? `${uuid} start read mute 1` : `${uuid} stop`];
}

/** Masks (silence written), unmasks or stops the leg's `record_session` to `path`. */
export function recordAction(uuid: string, action: 'mask' | 'unmask' | 'stop', path: string): ApiCommand {
  return ['uuid_record', `${uuid} ${action} ${path}`];
}

/**
 * Plays a file to a bridged leg (`start`, mixed with what the peer says) or
 * ends it early (`stop`). Not `playback`: on a bridged channel that
 * application runs in the bridge's own loop and takes every frame the party
 * sends while it plays (switch_ivr_play_file reads them), so the peer hears
 * nothing of the party for the prompt's length. uuid_displace is a media
 * bug on what the party hears only (switch_ivr_async.c,
 * write_displace_callback, flag `m`: mux); it removes itself at the end of
 * the file and fires no event, so the adapter times it from the file's length.
 */
export function displace(uuid: string, action: 'start' | 'stop', file: string): ApiCommand {
  return ['uuid_displace', action === 'start' ? `${uuid} start ${file} 0 mux` : `${uuid} stop ${file}`];
}

/** Stops the playback in progress and any queued after it (barge-in, stopPlayback). */
export function breakPlayback(uuid: string): ApiCommand {
  return ['uuid_break', `${uuid} all`];
}

/**
 * What `playback` plays for one port audio item: the file (FreeSWITCH must
 * see it at the same path), or exact zeros from mod_tone_stream. Undefined
 * for silence under 1 ms: `silence_stream://0` is refused as invalid and
 * a negative length plays for ever (mod_tone_stream.c).
 */
export function playbackTarget(item: AudioItem): string | undefined {
  if ('file' in item) return item.file;
  const ms = Math.round(item.silenceMs);
  return ms >= 1 ? `silence_stream://${ms}` : undefined;
}

/** FreeSWITCH's reply to an API command that worked. */
export function isOk(reply: string): boolean {
  return reply.trimStart().startsWith('+OK');
}
