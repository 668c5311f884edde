import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { FakeDialog, FakeRequest, FakeResponse, FakeSrf } from '../../support/freeswitch/fake-drachtio.js';
import { FakeEndpoint, FakeFreeswitch, FakeMediaServer, FakeMrf } from '../../support/freeswitch/fake-freeswitch.js';

/**
 * The fakes the FreeSWITCH adapter is tested against must stand exactly
 * where drachtio-srf and drachtio-fsmrf stand. This checks them against the
 * installed libraries themselves: the same method names on the real
 * prototypes, the real drachtio-fsmrf Endpoint putting the same commands on
 * the event socket as the fake for the same calls, the same 'dtmf' event,
 * and the real drachtio-srf Dialog emitting the events the adapter listens
 * to with (req, res).
 */

const require = createRequire(import.meta.url);
const WELCOME = join(projectRoot(), 'ivr/prompts/audio/en-GB/welcome.wav');
type Ctor = { prototype: Record<string, unknown> };
const RealEndpoint = require('drachtio-fsmrf/lib/endpoint') as Ctor;
const RealMediaServer = require('drachtio-fsmrf/lib/mediaserver') as Ctor;
const RealMrf = require('drachtio-fsmrf') as Ctor;
const RealSrf = require('drachtio-srf') as Ctor & { Dialog: Ctor };
const RealRequest = require('drachtio-srf/lib/request') as Ctor;
const RealResponse = require('drachtio-srf/lib/response') as Ctor;

/** Whether `name` is a method or accessor somewhere on the prototype chain. */
function has(proto: object, name: string): boolean {
  for (let p: object | null = proto; p; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, name);
    if (d) return typeof d.value === 'function' || d.get !== undefined;
  }
  return false;
}

/** An event-socket connection that records what drachtio-fsmrf sends, answering like drachtio-modesl. */
function recordingConnection(log: string[], dialog: EventEmitter) {
  const event = (headers: Record<string, string>, body: string) => ({ getHeader: (n: string) => headers[n], getBody: () => body });
  return {
    execute(app: string, arg: string | undefined, cb: (evt: unknown) => void) {
      log.push(`execute fs-channel-1 ${app}${arg === undefined || arg === '' ? '' : ` ${arg}`}`);
      if (app === 'hangup') setImmediate(() => dialog.emit('destroy'));
      setImmediate(() => cb(event({ Application: app, 'Application-Response': 'FILE PLAYED' }, '')));
    },
    api(command: string, args: string | string[], cb: (evt: unknown, headers: unknown, body: string) => void) {
      log.push(`api ${command} ${Array.isArray(args) ? args.join(' ') : args}`);
      setImmediate(() => cb(event({}, '+OK\n'), {}, '+OK\n'));
    },
  };
}

describe('the fakes match drachtio-srf 5 and drachtio-fsmrf 4.1', () => {
  it('every method the adapter calls exists on the real prototypes, with the fakes', () => {
    const uses: [string, object, object, readonly string[]][] = [
      ['drachtio-fsmrf Mrf', RealMrf.prototype, FakeMrf.prototype, ['connect']],
      ['drachtio-fsmrf MediaServer', RealMediaServer.prototype, FakeMediaServer.prototype, ['createEndpoint', 'api', 'disconnect', 'connected', 'address', 'conn', 'on']],
      ['drachtio-fsmrf Endpoint', RealEndpoint.prototype, FakeEndpoint.prototype, ['play', 'execute', 'api', 'set', 'recordSession', 'bridge', 'unbridge', 'modify', 'destroy', 'on']],
      ['drachtio-srf Srf', RealSrf.prototype, FakeSrf.prototype, ['connect', 'disconnect', 'invite', 'options', 'createUAS', 'createUAC', 'on', 'removeListener']],
      ['drachtio-srf Dialog', RealSrf.Dialog.prototype, FakeDialog.prototype, ['destroy', 'request', 'on']],
      ['drachtio-srf Request', RealRequest.prototype, FakeRequest.prototype, ['cancel', 'get', 'calledNumber', 'on']],
      ['drachtio-srf Response', RealResponse.prototype, FakeResponse.prototype, ['send', 'finalResponseSent']],
    ];
    for (const [name, real, fake, methods] of uses) {
      for (const method of methods) {
        expect(has(real, method), `${name}#${method}`).toBe(true);
        expect(has(fake, method), `fake ${name}#${method}`).toBe(true);
      }
    }
  });

  it("the real Endpoint and the fake send the same event-socket commands for each call the adapter makes", async () => {
    const realLog: string[] = [];
    const fsDialog = new EventEmitter();
    const real = Object.create(RealEndpoint.prototype) as FakeEndpoint & Record<string, unknown>;
    EventEmitter.call(real);
    Object.assign(real, { _conn: recordingConnection(realLog, fsDialog), _dialog: fsDialog, uuid: 'fs-channel-1', state: 3 /* CONNECTED */ });

    const fs = new FakeFreeswitch({ playbackMs: 1 });
    const ms = new FakeMediaServer(fs);
    const fake = await ms.createEndpoint();
    const other = await ms.createEndpoint();
    fs.commands.length = 0;

    for (const endpoint of [real, fake]) {
      await endpoint.execute('spandsp_start_dtmf');
      await endpoint.set('bridge_filter_dtmf', 'true');
      await endpoint.play(WELCOME);
      await endpoint.play([WELCOME, 'silence_stream://30']);
      await endpoint.api('uuid_audio', 'fs-channel-1 start read mute 1');
      await endpoint.api('uuid_break', 'fs-channel-1 all');
      await endpoint.set('RECORD_STEREO', 'true');
      await endpoint.recordSession('/data/r.wav');
      await endpoint.api('uuid_record', 'fs-channel-1 mask /data/r.wav');
      await endpoint.bridge(other.uuid);
      await endpoint.unbridge();
      await endpoint.destroy();
    }
    expect(fs.commands).toEqual(realLog);
    expect(realLog).toContain(`execute fs-channel-1 set playback_delimiter=!`);
    expect(realLog).toContain(`api uuid_bridge fs-channel-1 fs-channel-2`);
    expect(realLog).toContain(`api uuid_transfer fs-channel-1 -both park inline`);
  });

  it("the fake emits the real Endpoint's 'dtmf' event: DTMF-Digit, DTMF-Duration and DTMF-Source as dtmf, duration, source", () => {
    const emitted: unknown[] = [];
    const target = { emit: (name: string, args: unknown) => emitted.push([name, args]) };
    const headers: Record<string, string> = { 'Event-Name': 'DTMF', 'DTMF-Digit': '7', 'DTMF-Duration': '800', 'DTMF-Source': 'INBAND_AUDIO' };
    (RealEndpoint.prototype._onDtmf as (evt: unknown) => void).call(target, { getHeader: (n: string) => headers[n] });

    const fs = new FakeFreeswitch();
    const channel = fs.newChannel('');
    const fake = new FakeEndpoint(fs, channel);
    channel.detecting = true;
    fake.on('dtmf', (args) => emitted.push(['dtmf', args]));
    fs.press(channel, '7', 'inband');
    expect(emitted).toEqual([
      ['dtmf', { dtmf: '7', duration: '800', source: 'INBAND_AUDIO' }],
      ['dtmf', { dtmf: '7', duration: '800', source: 'INBAND_AUDIO' }],
    ]);
  });

  it("the real Dialog hands INFO, REFER and re-INVITE to the listeners the adapter registers, with (req, res), and a BYE as 'destroy'", async () => {
    const seen: string[] = [];
    const dialog = Object.create(RealSrf.Dialog.prototype) as EventEmitter & { handle(req: unknown, res: unknown): void };
    EventEmitter.call(dialog);
    Object.assign(dialog, {
      _queueRequests: false,
      req: { method: 'INVITE' },
      res: { stackDialogId: 'dialog-1' },
      srf: { removeDialog: () => undefined },
      local: { sdp: 'v=0\r\na=sendrecv\r\n', contact: '<sip:us>' },
      remote: { sdp: 'v=0\r\no=them 1 1 IN IP4 127.0.0.1\r\na=sendrecv\r\n' },
      onHold: false,
    });
    for (const event of ['info', 'refer', 'modify'] as const) dialog.on(event, (req: { method: string }, res: { send: unknown }) => seen.push(`${event} ${req.method} ${typeof res.send}`));
    dialog.on('destroy', () => seen.push('destroy'));
    const request = (method: string, body = '') => ({ method, body, meta: { source: 'network' }, has: () => false, get: () => undefined });
    const response = { send: () => undefined };
    dialog.handle(request('INFO'), response);
    dialog.handle(request('REFER'), response);
    dialog.handle(request('INVITE', 'v=0\r\no=them 1 2 IN IP4 127.0.0.2\r\na=sendrecv\r\n'), response);
    await new Promise((r) => setImmediate(r));
    dialog.handle(request('BYE'), response);
    expect(seen).toEqual(['modify INVITE function', 'info INFO function', 'refer REFER function', 'destroy']);
  });
});
