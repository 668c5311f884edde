import { describe, expect, it } from 'vitest';
import type { DtmfKey } from '../../../domain/dtmf-key.js';
import { StartCodeReader, type StartCodeStep } from '../../../ivr/flow/start-code-reader.js';

const reader = (): StartCodeReader => new StartCodeReader({ startCode: '*7', minCodeLength: 4, maxCodeLength: 12 });
const keyAll = (r: StartCodeReader, keys: string): StartCodeStep[] => [...keys].map((k) => r.push(k as DtmfKey));
const relayed = (steps: readonly StartCodeStep[]): string => steps.map((s) => s.relay.join('')).join('');

describe('StartCodeReader: the agent keys *7, a session code and # on the PBX leg', () => {
  it('reads the code; not one of its keys is sent on', () => {
    const r = reader();
    const steps = keyAll(r, '*7123456#');
    expect(relayed(steps)).toBe('');
    expect(steps.at(-1)!.code).toBe('123456');
    expect(steps.slice(0, -1).every((s) => s.code === undefined)).toBe(true);
    expect(r.reading).toBe(false);
  });

  it('sends other keys on at once, and a held * with the key that shows it was no start code, in order', () => {
    const r = reader();
    expect(relayed(keyAll(r, '12'))).toBe('12');
    expect(r.push('*').relay).toEqual([]);
    expect(r.reading).toBe(true);
    expect(r.push('3').relay).toEqual(['*', '3']);
    expect(r.reading).toBe(false);
  });

  it('a second * after a held one: the first is sent on, the second held', () => {
    const r = reader();
    expect(relayed(keyAll(r, '**'))).toBe('*');
    expect(keyAll(r, '71234#').at(-1)!.code).toBe('1234');
  });

  it('a pause: a held * is sent on; a code half keyed is dropped, never sent', () => {
    const r = reader();
    r.push('*');
    expect(r.timeout().relay).toEqual(['*']);
    keyAll(r, '*712');
    expect(r.timeout().relay).toEqual([]);
    expect(r.reading).toBe(false);
  });

  it('a code too short, too long, or broken by * is swallowed without a code', () => {
    const short = keyAll(reader(), '*7123#');
    expect(short.at(-1)!.code).toBeUndefined();
    expect(relayed(short)).toBe('');
    const long = keyAll(reader(), '*71234567890123#');
    expect(long.some((s) => s.code !== undefined)).toBe(false);
    const broken = reader();
    expect(relayed(keyAll(broken, '*712*'))).toBe('');
    expect(broken.reading).toBe(false);
  });
});
