import { describe, expect, it } from 'vitest';
import { ProgressHub } from '../../../agent-bridge/stream/progress-hub.js';

describe('ProgressHub on one node: what it keeps for consoles that reconnect', () => {
  it('replays a live session after the last frame a console saw', async () => {
    const hub = new ProgressHub();
    hub.publish('s1', { type: 'field-started', field: 'card-number', attempt: 1 });
    hub.publish('s1', { type: 'digit-entered', field: 'card-number', count: 1 });
    hub.publish('s1', { type: 'digit-entered', field: 'card-number', count: 2 });
    expect((await hub.replay('s1', 1)).map((f) => f.seq)).toEqual([2, 3]);
  });

  it('forgets an ended session once the retention has passed, and keeps one that went on or ended later', async () => {
    let now = 0;
    const hub = new ProgressHub({ endedRetentionMs: 60_000, now: () => now });
    hub.publish('old', { type: 'authorising' });
    hub.publish('old', { type: 'ended', result: 'approved' });
    hub.publish('again', { type: 'ended', result: 'approved' });
    hub.publish('again', { type: 'caller-hung-up' });
    now = 30_000;
    hub.publish('recent', { type: 'ended', result: 'declined' });
    hub.publish('live', { type: 'authorising' });
    expect(hub.sessionsKept).toBe(4);
    now = 60_000;
    hub.publish('live', { type: 'approved', pspReference: 'ref-1' });
    expect(await hub.replay('old')).toEqual([]);
    expect((await hub.replay('again')).map((f) => f.event.type)).toEqual(['ended', 'caller-hung-up']);
    expect((await hub.replay('recent')).map((f) => f.event.type)).toEqual(['ended']);
    expect((await hub.replay('live')).map((f) => f.event.type)).toEqual(['authorising', 'approved']);
    now = 90_000;
    hub.publish('live', { type: 'ended', result: 'approved' });
    expect(await hub.replay('recent')).toEqual([]);
    expect(hub.sessionsKept).toBe(2);
  });
});
