import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { FreeswitchCommandError, LegStateError, MediaServerConnectError } from '../../../media-server/freeswitch/freeswitch-errors.js';
import type { FreeswitchInboundCall } from '../../../media-server/freeswitch/freeswitch-call-leg.js';
import type { CallLeg, DtmfEvent, InboundCall, LegEnded } from '../../../media-server/media-server-port.js';
import type { RecordingSidecar } from '../../../media-server/recording-sidecar.js';
import { partySdp, type FakeCaller } from '../../support/freeswitch/fake-drachtio.js';
import { freeswitchRig, TEST_SECRETS, UNMASK_GUARD_MS, type FreeswitchRig } from '../../support/media-server-contract/freeswitch-harness.js';

/**
 * The FreeSWITCH adapter against drachtio-srf and drachtio-fsmrf fakes: the
 * exact FreeSWITCH applications and API commands (as drachtio-fsmrf puts
 * them on the event socket) for answer, play, collect, mask, bridge,
 * recording and hang-up, the signalling through drachtio-server, and a
 * start-up that fails fast.
 */

const WELCOME = join(projectRoot(), 'ivr/prompts/audio/en-GB/welcome.wav');
const GOODBYE = join(projectRoot(), 'ivr/prompts/audio/en-GB/goodbye.wav');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const rigs: FreeswitchRig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.server.stop();
});
const recordingsDir = mkdtempSync(join(tmpdir(), 'fs-adapter-recordings-'));
afterAll(() => rmSync(recordingsDir, { recursive: true, force: true }));

async function started(options: Parameters<typeof freeswitchRig>[0] = {}): Promise<FreeswitchRig> {
  const rig = freeswitchRig(options);
  rigs.push(rig);
  await rig.server.start();
  return rig;
}

interface Answered {
  readonly caller: FakeCaller;
  readonly call: FreeswitchInboundCall;
  readonly uuid: string;
  readonly keys: DtmfEvent[];
  readonly ended: Promise<LegEnded>;
}

async function answeredCall(rig: FreeswitchRig, headers?: Record<string, string>): Promise<Answered> {
  const offered = new Promise<InboundCall>((resolve) => rig.server.on('call', resolve));
  const caller = rig.srf.placeCall({ user: 'pay', ...(headers ? { headers } : {}) });
  const call = (await offered) as FreeswitchInboundCall;
  const keys: DtmfEvent[] = [];
  call.on('dtmf', (e) => keys.push(e));
  const ended = new Promise<LegEnded>((resolve) => call.on('ended', resolve));
  await call.answer();
  return { caller, call, uuid: call.uuid as string, keys, ended };
}

/** The commands after `mark` (an index into the log). */
function since(rig: FreeswitchRig, mark: number): string[] {
  return rig.fs.commands.slice(mark);
}

describe('FreeSWITCH adapter: answer', () => {
  it('rings the caller, then on answer makes a channel for its offer (PCMU, PCMA), answers with FreeSWITCH SDP, starts in-band detection and filters DTMF on any bridge', async () => {
    const rig = await started();
    const { caller, uuid } = await answeredCall(rig);
    expect(caller.res.sent.map((s) => s.status)).toEqual([180, 200]);
    expect(caller.res.sent[1]?.body).toBe(rig.fs.channels.get(uuid)?.endpoint.local.sdp);
    expect(rig.fs.commands).toEqual([
      `sip INVITE ${uuid}`,
      `execute ${uuid} set codec_string=PCMU,PCMA`,
      // Detection first: its media bug must come before any mute's (FreeSWITCH runs them in order).
      `execute ${uuid} spandsp_start_dtmf`,
      `execute ${uuid} set bridge_filter_dtmf=true`,
    ]);
    expect(rig.fs.refused).toEqual([]);
  });

  it('refuses with 503 while draining, 403 outside SIP_ALLOW, 488 for an offer without G.711 or no offer at all; FreeSWITCH never hears of them', async () => {
    const rig = await started({ allows: (address) => address.startsWith('127.') });
    expect(await rig.srf.placeCall({ user: 'pay', sourceAddress: '203.0.113.9' }).res.final).toBe(403);
    expect(await rig.srf.placeCall({ user: 'pay', sdp: partySdp('g729-phone', 'g729') }).res.final).toBe(488);
    expect(await rig.srf.placeCall({ user: 'pay', sdp: '' }).res.final).toBe(488);
    rig.server.setAcceptingCalls(false);
    expect(await rig.srf.placeCall({ user: 'pay' }).res.final).toBe(503);
    expect(rig.fs.commands).toEqual([]);
  });

  it("answers a proxy's OPTIONS probe 200 while taking calls, 503 while draining or while FreeSWITCH is out of reach, 403 outside SIP_ALLOW", async () => {
    const rig = await started({ allows: (address) => address.startsWith('127.') });
    expect(await rig.srf.probe().final).toBe(200);
    expect(await rig.srf.probe('203.0.113.9').final).toBe(403);
    rig.mediaServer.emit('end');
    expect(await rig.srf.probe().final).toBe(503);
    rig.mediaServer.conn.emit('esl::ready');
    expect(await rig.srf.probe().final).toBe(200);
    rig.server.setAcceptingCalls(false);
    expect(await rig.srf.probe().final).toBe(503);
    expect(rig.fs.commands).toEqual([]);
  });

  it('a caller who cancels while FreeSWITCH sets up gets no 200, and the channel made for it is hung up', async () => {
    const rig = await started();
    const offered = new Promise<InboundCall>((resolve) => rig.server.on('call', resolve));
    const caller = rig.srf.placeCall({ user: 'pay' });
    const call = await offered;
    const answering = call.answer();
    caller.cancel();
    await expect(answering).rejects.toBeInstanceOf(Error);
    expect(caller.res.sent.map((s) => s.status)).toEqual([180, 487]);
    expect(rig.fs.commands.filter((c) => c.startsWith('execute') && c.endsWith('hangup'))).toHaveLength(1);
  });

  it('hangup() before answer refuses the call with 480', async () => {
    const rig = await started();
    const offered = new Promise<InboundCall>((resolve) => rig.server.on('call', resolve));
    const caller = rig.srf.placeCall({ user: 'pay' });
    await (await offered).hangup();
    expect(await caller.res.final).toBe(480);
  });
});

describe('FreeSWITCH adapter: play and collect', () => {
  it('plays one file with playback; several one playback each, in turn; silence as silence_stream://<ms>, under 1 ms left out', async () => {
    const rig = await started();
    const { call, uuid } = await answeredCall(rig);
    let mark = rig.fs.commands.length;
    expect(await call.play([{ file: WELCOME }])).toBe('completed');
    expect(since(rig, mark)).toEqual([`execute ${uuid} playback ${WELCOME}`]);
    mark = rig.fs.commands.length;
    expect(await call.play([{ file: WELCOME }, { silenceMs: 30 }, { silenceMs: 0.2 }, { file: GOODBYE }])).toBe('completed');
    // One playback per file: uuid_break stops only the file playing, so a barge-in must be able to end the rest.
    expect(since(rig, mark)).toEqual([`execute ${uuid} playback ${WELCOME}`, `execute ${uuid} playback silence_stream://30`, `execute ${uuid} playback ${GOODBYE}`]);
    expect(await call.play([{ silenceMs: 0 }])).toBe('completed');
    expect(rig.fs.commands.length).toBe(mark + 3);
  });

  it('barge-in: a key during playback breaks it with uuid_break <uuid> all; without barge-in the key is reported and the prompt plays on', async () => {
    const rig = await started();
    const { call, uuid, keys } = await answeredCall(rig);
    const channel = rig.fs.channels.get(uuid)!;
    const plain = call.play([{ silenceMs: 80 }]);
    await sleep(10);
    rig.fs.press(channel, '1', 'rfc4733');
    expect(await plain).toBe('completed');
    const mark = rig.fs.commands.length;
    const barged = call.play([{ silenceMs: 10_000 }], { bargeIn: true });
    await sleep(10);
    rig.fs.press(channel, '2', 'rfc4733');
    expect(await barged).toBe('stopped');
    expect(since(rig, mark)).toEqual([`execute ${uuid} playback silence_stream://10000`, `api uuid_break ${uuid} all`]);
    expect(keys.map((k) => k.key)).toEqual(['1', '2']);
  });

  it('a prompt FreeSWITCH cannot find rejects play()', async () => {
    const rig = await started();
    const { call } = await answeredCall(rig);
    await expect(call.play([{ file: '/nowhere/missing.wav' }])).rejects.toThrow(/File Not Found/);
  });

  it('collects RFC 2833 (DTMF-Source RTP), in-band (INBAND_AUDIO) and INFO digits with their durations; a key by two methods counts once; injected (APP) digits are not key presses', async () => {
    const rig = await started();
    const { caller, call, uuid, keys } = await answeredCall(rig);
    const channel = rig.fs.channels.get(uuid)!;
    rig.fs.press(channel, '4', 'rfc4733');
    rig.fs.press(channel, '4', 'inband');
    rig.fs.press(channel, '#', 'inband');
    const info = await caller.dialog!.farEndRequest('info', { 'Content-Type': 'application/dtmf-relay' }, 'Signal=7\r\nDuration=250\r\n');
    channel.endpoint.emit('dtmf', { dtmf: '9', duration: '800', source: 'APP' });
    await sleep(5);
    expect(info.sent.map((s) => s.status)).toEqual([200]);
    expect(keys.map((k) => [k.key, k.method, k.durationMs])).toEqual([
      ['4', 'rfc4733', 100],
      ['#', 'inband', 100],
      ['7', 'info', 250],
    ]);
    expect(call.ended).toBe(false);
  });
});

describe('FreeSWITCH adapter: masking and mute', () => {
  it('masking on: uuid_audio <uuid> start read mute 1 at once; off: uuid_audio <uuid> stop after the guard, cancelled if masking comes back first', async () => {
    const rig = await started();
    const { call, uuid } = await answeredCall(rig);
    const mark = rig.fs.commands.length;
    call.setDtmfMasking(true);
    await sleep(5);
    expect(since(rig, mark)).toEqual([`api uuid_audio ${uuid} start read mute 1`]);
    call.setDtmfMasking(false);
    await sleep(UNMASK_GUARD_MS / 4);
    expect(since(rig, mark)).toHaveLength(1);
    call.setDtmfMasking(true);
    await sleep(UNMASK_GUARD_MS * 2);
    expect(since(rig, mark)).toHaveLength(1);
    call.setDtmfMasking(false);
    await sleep(UNMASK_GUARD_MS * 2);
    expect(since(rig, mark)).toEqual([`api uuid_audio ${uuid} start read mute 1`, `api uuid_audio ${uuid} stop`]);
  });

  it('mute and masking share the one read mute: it goes only when both are off', async () => {
    const rig = await started();
    const { call, uuid } = await answeredCall(rig);
    const mark = rig.fs.commands.length;
    call.setMuted(true);
    call.setDtmfMasking(true);
    call.setDtmfMasking(false);
    await sleep(UNMASK_GUARD_MS * 2);
    expect(since(rig, mark)).toEqual([`api uuid_audio ${uuid} start read mute 1`]);
    call.setMuted(false);
    await sleep(UNMASK_GUARD_MS * 2);
    expect(since(rig, mark)).toEqual([`api uuid_audio ${uuid} start read mute 1`, `api uuid_audio ${uuid} stop`]);
  });

  it('masking asked before the answer is applied right after detection and the leg variables', async () => {
    const rig = await started();
    const offered = new Promise<InboundCall>((resolve) => rig.server.on('call', resolve));
    rig.srf.placeCall({ user: 'pay' });
    const call = (await offered) as FreeswitchInboundCall;
    call.setDtmfMasking(true);
    await call.answer();
    await sleep(5);
    const uuid = call.uuid as string;
    expect(rig.fs.commands.slice(-3)).toEqual([`execute ${uuid} spandsp_start_dtmf`, `execute ${uuid} set bridge_filter_dtmf=true`, `api uuid_audio ${uuid} start read mute 1`]);
  });
});

describe('FreeSWITCH adapter: dial and bridge', () => {
  it('dials with a FreeSWITCH offer (3pcc), sends the callee answer to FreeSWITCH (re-INVITE), prepares the leg, then uuid_bridge; unbridge parks both with uuid_transfer', async () => {
    const rig = await started();
    const { call, uuid } = await answeredCall(rig);
    const phone = rig.srf.addPhone('sip:agent@pbx.example', 'answer');
    const mark = rig.fs.commands.length;
    const agent = await rig.server.dial(phone.uri, { headers: { 'X-Payment-Session': 'ps_1' } });
    const agentUuid = [...rig.fs.channels.keys()].at(-1) as string;
    expect(phone.invites).toEqual([{ 'X-Payment-Session': 'ps_1' }]);
    expect(phone.dialog?.local.sdp).toBe(rig.fs.channels.get(agentUuid)?.endpoint.local.sdp);
    expect(rig.fs.channels.get(agentUuid)?.remoteSdp).toBe(phone.sdp);
    const bridge = rig.server.bridge(call, agent);
    await sleep(5);
    bridge.unbridge();
    bridge.unbridge();
    await sleep(5);
    expect(since(rig, mark)).toEqual([
      `sip INVITE ${agentUuid} (3pcc)`,
      `sip re-INVITE ${agentUuid}`,
      `execute ${agentUuid} spandsp_start_dtmf`,
      `execute ${agentUuid} set bridge_filter_dtmf=true`,
      `api uuid_bridge ${uuid} ${agentUuid}`,
      `api uuid_transfer ${uuid} -both park inline`,
    ]);
    expect(rig.fs.channels.get(uuid)?.bridgedTo).toBeUndefined();
  });

  it('a refused dial hangs up the FreeSWITCH channel it made; a dial that times out CANCELs the INVITE', async () => {
    const rig = await started();
    rig.srf.addPhone('sip:busy@pbx.example', 'busy');
    rig.srf.addPhone('sip:away@pbx.example', 'no-answer');
    await expect(rig.server.dial('sip:busy@pbx.example')).rejects.toMatchObject({ name: 'DialError', reason: 'rejected', status: 486 });
    await expect(rig.server.dial('sip:away@pbx.example', { timeoutMs: 50 })).rejects.toMatchObject({ name: 'DialError', reason: 'no-answer' });
    expect(rig.fs.commands.filter((c) => c.endsWith(' hangup'))).toHaveLength(2);
  });

  it('bridged, a prompt is uuid_displace (mux) file by file, each stopped at its end, so the peer keeps hearing the party; barge-in stops it; unbridged, playback again', async () => {
    const rig = await started();
    const { call, uuid, keys } = await answeredCall(rig);
    const phone = rig.srf.addPhone('sip:agent@pbx.example', 'answer');
    const agent = await rig.server.dial(phone.uri);
    const bridge = rig.server.bridge(call, agent);
    const channel = rig.fs.channels.get(uuid)!;
    let mark = rig.fs.commands.length;
    const playing = call.play([{ file: WELCOME }, { silenceMs: 30 }, { file: GOODBYE }]);
    await sleep(50);
    rig.fs.press(channel, '3', 'inband');
    expect(await playing).toBe('completed');
    expect(since(rig, mark)).toEqual([
      `api uuid_displace ${uuid} start ${WELCOME} 0 mux`,
      `api uuid_displace ${uuid} stop ${WELCOME}`,
      `api uuid_displace ${uuid} start ${GOODBYE} 0 mux`,
      `api uuid_displace ${uuid} stop ${GOODBYE}`,
    ]);
    // The key pressed while the prompt played reached the agent (masking is the secure window's business).
    const agentChannel = [...rig.fs.channels.values()].at(-1)!;
    expect(rig.fs.keysHeardBy(agentChannel)).toBe('3');
    mark = rig.fs.commands.length;
    const barged = call.play([{ file: WELCOME }, { file: GOODBYE }], { bargeIn: true });
    await sleep(50);
    rig.fs.press(channel, '4', 'rfc4733');
    expect(await barged).toBe('stopped');
    expect(keys.map((k) => k.key)).toEqual(['3', '4']);
    expect(since(rig, mark)).toEqual([`api uuid_displace ${uuid} start ${WELCOME} 0 mux`, `api uuid_displace ${uuid} stop ${WELCOME}`]);
    bridge.unbridge();
    await sleep(5);
    mark = rig.fs.commands.length;
    expect(await call.play([{ silenceMs: 20 }])).toBe('completed');
    expect(since(rig, mark)).toEqual([`execute ${uuid} playback silence_stream://20`]);
  });

  it('bridges only its own answered legs', async () => {
    const rig = await started();
    const { call } = await answeredCall(rig);
    expect(() => rig.server.bridge(call, {} as CallLeg)).toThrow(TypeError);
  });
});

describe('FreeSWITCH adapter: recording', () => {
  it('record_session to a stereo WAV; pause and resume are uuid_record mask and unmask on that path; stop is uuid_record stop; the sidecar holds the pause', async () => {
    const rig = await started();
    const { call, uuid } = await answeredCall(rig);
    const path = join(recordingsDir, 'leg_x.wav');
    const mark = rig.fs.commands.length;
    await call.startRecording({ path });
    await call.pauseRecording();
    await call.resumeRecording();
    await call.stopRecording();
    await call.pauseRecording();
    expect(since(rig, mark)).toEqual([
      `execute ${uuid} set RECORD_STEREO=true`,
      `execute ${uuid} set enable_file_write_buffering=false`,
      `execute ${uuid} record_session ${path}`,
      `api uuid_record ${uuid} mask ${path}`,
      `api uuid_record ${uuid} unmask ${path}`,
      `api uuid_record ${uuid} stop ${path}`,
    ]);
    const sidecar = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as RecordingSidecar;
    expect(sidecar).toMatchObject({ format: 'secure-ivr-recording/1', recording: 'leg_x.wav', channels: ['received', 'sent'] });
    expect(sidecar.stoppedAt).not.toBeNull();
    expect(sidecar.pauses).toHaveLength(1);
    expect(sidecar.pauses[0]!.to).not.toBeNull();
  });

  it('a mask FreeSWITCH refuses rejects pauseRecording(), so the flow never captures into a running recording', async () => {
    const rig = await started();
    const { call, uuid } = await answeredCall(rig);
    await call.startRecording({ path: join(recordingsDir, 'a.wav') });
    // The recording's media bug is gone (FreeSWITCH ended it, say): -ERR Cannot locate recording!
    rig.fs.channels.get(uuid)!.recording = undefined;
    await expect(call.pauseRecording()).rejects.toBeInstanceOf(FreeswitchCommandError);
  });

  it('refuses a recording path with a space (uuid_record splits its arguments on spaces)', async () => {
    const rig = await started();
    const { call } = await answeredCall(rig);
    await expect(call.startRecording({ path: '/data/my recordings/a.wav' })).rejects.toBeInstanceOf(LegStateError);
  });
});

describe('FreeSWITCH adapter: hang-up and signalling', () => {
  it('hangup() executes hangup on the channel and sends BYE to the party', async () => {
    const rig = await started();
    const { caller, call, uuid, ended } = await answeredCall(rig);
    const mark = rig.fs.commands.length;
    await call.hangup();
    await caller.dialog!.destroyed;
    expect(since(rig, mark)).toEqual([`execute ${uuid} hangup`]);
    expect(await ended).toEqual({ reason: 'local-hangup' });
  });

  it("the party's BYE hangs the channel up; FreeSWITCH ending the channel sends the party a BYE", async () => {
    const rig = await started();
    const first = await answeredCall(rig);
    first.caller.dialog!.farEndBye();
    expect(await first.ended).toEqual({ reason: 'remote-hangup' });
    expect(rig.fs.commands.at(-1)).toBe(`execute ${first.uuid} hangup`);
    const second = await answeredCall(rig);
    rig.fs.killChannel(rig.fs.channels.get(second.uuid)!);
    expect(await second.ended).toEqual({ reason: 'failed' });
    await second.caller.dialog!.destroyed;
  });

  it('relays a re-INVITE to FreeSWITCH and answers with its SDP; declines a REFER from the party with 603', async () => {
    const rig = await started();
    const { caller, uuid } = await answeredCall(rig);
    const reinvite = await caller.dialog!.farEndRequest('modify', {}, caller.sdp.replace('a=sendrecv', 'a=sendonly'));
    expect(reinvite.sent[0]).toMatchObject({ status: 200, body: rig.fs.channels.get(uuid)?.endpoint.local.sdp });
    expect(rig.fs.commands.at(-1)).toBe(`sip re-INVITE ${uuid}`);
    const refer = await caller.dialog!.farEndRequest('refer', { 'Refer-To': '<sip:elsewhere@example.com>' }, '');
    expect(refer.sent[0]).toMatchObject({ status: 603 });
  });
});

describe('FreeSWITCH adapter: start-up', () => {
  it('connects to drachtio-server with its secret, then to FreeSWITCH through drachtio-fsmrf with the listener and the drachtio_mrf profile; follows both connections after', async () => {
    const rig = await started();
    expect(rig.srf.connects).toEqual([{ host: '127.0.0.1', port: 9022, secret: TEST_SECRETS.drachtio }]);
    expect(rig.mrf.connects).toEqual([
      { address: '127.0.0.1', port: 8021, secret: TEST_SECRETS.freeswitch, listenAddress: '127.0.0.1', listenPort: 8085, profile: 'drachtio_mrf' },
    ]);
    expect(rig.server.connected).toBe(true);
    expect(rig.server.kind).toBe('freeswitch');
    rig.srf.emit('close');
    expect(rig.server.connected).toBe(false);
    rig.srf.emit('connect', null, 'udp/127.0.0.1:5060');
    expect(rig.server.connected).toBe(true);
    // FreeSWITCH's event socket lost and back (drachtio-modesl reconnects it).
    const states: boolean[] = [];
    rig.server.on('connected', (up) => states.push(up));
    rig.mediaServer.emit('end');
    expect(rig.server.connected).toBe(false);
    rig.mediaServer.conn.emit('esl::ready');
    expect(rig.server.connected).toBe(true);
    expect(states).toEqual([false, true]);
  });

  it.each([
    ['refused', 'drachtio-server', /ECONNREFUSED/],
    ['bad-secret', 'drachtio-server', /refused DRACHTIO_SECRET/],
    ['silent', 'drachtio-server', /no answer within 100 ms/],
  ] as const)('drachtio-server %s: start() rejects with MediaServerConnectError naming it', async (behaviour, component, problem) => {
    const rig = freeswitchRig({ srf: behaviour, connectTimeoutMs: 100 });
    const err = await rig.server.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaServerConnectError);
    expect(err).toMatchObject({ component, address: '127.0.0.1:9022', problem: expect.stringMatching(problem) });
    expect(rig.srf.disconnected).toBe(true);
    expect(rig.mrf.connects).toEqual([]);
  });

  it.each([
    ['refused', /ECONNREFUSED/],
    ['acl', /ACL refused us/],
    ['silent', /no answer within 100 ms/],
  ] as const)('FreeSWITCH %s: start() rejects with MediaServerConnectError naming the event socket, and lets drachtio go', async (behaviour, problem) => {
    const rig = freeswitchRig({ mrf: behaviour, connectTimeoutMs: 100 });
    const err = await rig.server.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaServerConnectError);
    expect(err).toMatchObject({ component: 'FreeSWITCH event socket', address: '127.0.0.1:8021', problem: expect.stringMatching(problem) });
    expect((err as Error).message).not.toContain(TEST_SECRETS.freeswitch);
    expect(rig.srf.disconnected).toBe(true);
    expect(rig.server.connected).toBe(false);
  });
});
