import { describe, expect, it } from 'vitest';
import { relayedStatus } from '../../../ivr/call/inline-call.js';
import { DialError } from '../../../media-server/media-server-errors.js';

describe('relayedStatus: what the caller gets when the PBX does not take an in-line call', () => {
  it.each<[string, unknown, number]>([
    ['the PBX busy', new DialError('rejected', 486), 486],
    ['an unknown extension', new DialError('rejected', 404), 404],
    ['a redirect', new DialError('rejected', 302), 302],
    ['a challenge we could not answer (never passed on)', new DialError('rejected', 407), 403],
    ['no answer in time', new DialError('no-answer'), 480],
    ['the caller cancelled', new DialError('cancelled'), 487],
    ['unreachable', new DialError('failed'), 502],
    ['no codec in common', new DialError('failed', 488), 488],
    ['anything else', new Error('boom'), 500],
  ])('%s → %i', (_, err, status) => {
    expect(relayedStatus(err)).toBe(status);
  });
});
