import type { DtmfKey } from '../../domain/dtmf-key.js';

const KEYS = new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D']);

/** RFC 4733 §3.2 event codes 10 and 11 stand for * and #; some phones send the numbers. */
const EVENT_CODES: Readonly<Record<string, DtmfKey>> = { '10': '*', '11': '#', '12': 'A', '13': 'B', '14': 'C', '15': 'D' };

export interface InfoDigit {
  readonly key: DtmfKey;
  readonly durationMs?: number;
}

/**
 * The key press in a SIP INFO body: `application/dtmf-relay` ("Signal=5" and
 * "Duration=160" lines, the de-facto Cisco format) or `application/dtmf`
 * (the key alone). Undefined for any other content type or a body that
 * names no key.
 */
export function parseDtmfInfo(contentType: string | undefined, body: Buffer): InfoDigit | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const text = body.toString('latin1').trim();
  if (type === 'application/dtmf') return toDigit(text, undefined);
  if (type !== 'application/dtmf-relay') return undefined;
  let signal: string | undefined;
  let duration: number | undefined;
  for (const line of text.split(/\r?\n/)) {
    const [name, ...rest] = line.split('=');
    const value = rest.join('=').trim();
    if (name?.trim().toLowerCase() === 'signal') signal = value;
    if (name?.trim().toLowerCase() === 'duration' && /^\d{1,6}$/.test(value)) duration = Number(value);
  }
  return signal === undefined ? undefined : toDigit(signal, duration);
}

function toDigit(value: string, durationMs: number | undefined): InfoDigit | undefined {
  const upper = value.toUpperCase();
  const key = (KEYS.has(upper) ? upper : EVENT_CODES[upper]) as DtmfKey | undefined;
  if (!key) return undefined;
  return durationMs === undefined ? { key } : { key, durationMs };
}

/** A key press as an INFO body in the `application/dtmf-relay` format `parseDtmfInfo` reads. */
export function formatDtmfInfo(key: DtmfKey, durationMs = 160): { readonly contentType: string; readonly body: Buffer } {
  return { contentType: 'application/dtmf-relay', body: Buffer.from(`Signal=${key}\r\nDuration=${Math.round(durationMs)}\r\n`, 'latin1') };
}
