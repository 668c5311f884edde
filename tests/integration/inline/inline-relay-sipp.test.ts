import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { TelephoneEvent } from '../../../media-server/embedded/media/telephone-event.js';
import { startCapture, killAllCaptures, type Capture } from '../../../tools/capture/tcpdump.js';
import { readPcapUdp } from '../../../tools/capture/pcap-reader.js';
import { framesDominatedBy, pcmuAudio, rtpTo, type CapturedRtp } from '../../../tools/capture/rtp-capture.js';
import { freePort, keyStepsInjection, killAllSipp, runSipp, SippPortSequence, startSipp, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { detectKeys } from '../../unit/rtp/signals.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { writeUlaw } from '../../support/sipp-media.js';
import { testDataDir } from '../../support/test-data-dir.js';
import { sidecarOf } from '../../support/recordings.js';
import { auditRecordings } from '../../../tools/audit/recording-audit.js';
import { StatusCallbackReceiver } from '../../support/status-callback-receiver.js';

const SIPP_DIR = join(projectRoot(), 'tests/sipp');
/** Each party's voice: a steady tone at a frequency of its own, none of them a DTMF frequency. */
const CALLER_HZ = 500;
const AGENT_HZ = 1000;
const THIRD_HZ = 2000;
/** The telephone-event payload type the PBX scenarios declare. */
const PBX_EVENT_PT = 101;
// Public test card numbers (the sandbox PSP's table).
const VISA = '4242424242424242';
const EXPIRY = '1230';
const CODE = '123';

/**
 * In-line mode end to end: the system started as `npm start` starts it with
 * INLINE_ROUTE pointing at a SIPp PBX; a second SIPp plays the carrier's
 * caller, dialling a PBX extension through us. What each leg received is
 * captured with tcpdump and checked for the other party's tone and for the
 * key events relayed. The PBX listens on one port for the whole file, so
 * the calls run one after the other.
 */
describe('in-line mode: a SIPp carrier relayed through the IVR to a SIPp PBX', () => {
  const work = mkdtempSync(join(tmpdir(), 'inline-'));
  const sippPorts = new SippPortSequence(38000);
  let system: RunningSystem;
  let pbxPort: number;
  const dataDir = testDataDir('inline-relay');
  const voices: Record<string, string> = {};

  beforeAll(async () => {
    for (const [name, hz] of [['caller', CALLER_HZ], ['agent', AGENT_HZ], ['third', THIRD_HZ]] as const) {
      voices[name] = join(work, `${name}.ulaw`);
      writeUlaw(voices[name]!, new Int16Array(8000).map((_, i) => Math.round(6000 * Math.sin((2 * Math.PI * hz * i) / 8000))));
    }
    pbxPort = await sippPorts.next();
    const rtpBase = 56000 + Number(process.env.VITEST_POOL_ID ?? '1') * 200;
    system = await startSystem({
      SIP_PORT: String(await freePort(34000)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 198),
      DATA_DIR: dataDir,
      INLINE_RECORDING: 'on',
      HTTP_PORT: String(await freePort(31500)),
      LOG_LEVEL: 'debug',
      INLINE_ROUTE: `sip:{user}@127.0.0.1:${pbxPort}`,
      INLINE_DIAL_TIMEOUT_MS: '10000',
      SANDBOX_LATENCY_MS: '50',
    });
  }, 30_000);

  afterAll(async () => {
    killAllCaptures();
    killAllSipp();
    await system?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  function pbx(scenario: string, ...extra: string[]): Promise<SippRun> {
    return startSipp(['-sf', join(SIPP_DIR, 'inline', scenario), '-i', '127.0.0.1', '-p', String(pbxPort), '-mp', String(pbxPort + 2), '-m', '1', '-key', 'voice', `${voices.agent},-1,0`, ...extra]).done;
  }

  async function carrier(scenario: string, port: number, ...extra: string[]): Promise<SippRun> {
    return runSipp({
      args: [`127.0.0.1:${system.sipPort}`, '-sf', scenario, '-s', '2001', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', ...extra],
      timeoutMs: 40_000,
    });
  }

  const ok = (run: SippRun): [number | null, string] => [run.exitCode, run.errors || run.stdout.slice(-1500)];

  /** The event codes of the RFC 4733 events in `packets` of payload type `pt`, in order: each press's end packets (sent three times) count once. */
  function eventKeys(packets: readonly CapturedRtp[], pt: number): number[] {
    const keys: number[] = [];
    let previousEnd: number | undefined;
    for (const p of packets) {
      if (p.payloadType !== pt) continue;
      const event = TelephoneEvent.parse(p.payload);
      if (event.end && previousEnd !== event.event) keys.push(event.event);
      previousEnd = event.end ? event.event : undefined;
    }
    return keys;
  }

  it('audio both ways; keys before any payment reach the PBX: RFC 4733 regenerated, INFO relayed; BYE from the caller', { timeout: 60_000 }, async () => {
    const port = await sippPorts.next();
    const toPbx: Capture = await startCapture({ filter: `udp and dst port ${pbxPort + 2}` });
    const toCaller: Capture = await startCapture({ filter: `udp and dst port ${port + 2}` });
    const pbxRun = pbx('pbx-answer.xml');
    const callerRun = await carrier(join(SIPP_DIR, 'inline', 'carrier-talk.xml'), port, '-key', 'keys', '1#', '-key', 'infokey', '5', '-key', 'audio', `${voices.caller},-1,0`, '-d', '4000');
    expect(...ok(callerRun)).toBe(0);
    expect(...ok(await pbxRun)).toBe(0);
    const atPbx = rtpTo(await toPbx.stop(), pbxPort + 2);
    const atCaller = rtpTo(await toCaller.stop(), port + 2);
    // RFC 4733 §3.2: 1 is event 1, # is event 11; the INFO key went as INFO (the PBX scenario checked it).
    expect(eventKeys(atPbx, PBX_EVENT_PT)).toEqual([1, 11]);
    expect(framesDominatedBy(pcmuAudio(atPbx), CALLER_HZ)).toBeGreaterThan(100);
    expect(framesDominatedBy(pcmuAudio(atCaller), AGENT_HZ)).toBeGreaterThan(100);
  });

  it('hold and unhold from the PBX reach the caller as re-INVITEs (sendonly, then sendrecv); BYE from the PBX ends the caller', { timeout: 60_000 }, async () => {
    const port = await sippPorts.next();
    const toCaller = await startCapture({ filter: `udp and dst port ${port + 2}` });
    const pbxRun = pbx('pbx-hold-bye.xml');
    const callerRun = await carrier(join(SIPP_DIR, 'inline', 'carrier-held.xml'), port, '-key', 'audio', `${voices.caller},-1,0`);
    expect(...ok(callerRun)).toBe(0);
    expect(...ok(await pbxRun)).toBe(0);
    expect(framesDominatedBy(pcmuAudio(rtpTo(await toCaller.stop(), port + 2)), AGENT_HZ)).toBeGreaterThan(100);
  });

  it('a CANCEL from the caller while the PBX rings reaches the PBX', { timeout: 60_000 }, async () => {
    const port = await sippPorts.next();
    const pbxRun = pbx('pbx-ring-cancelled.xml');
    const callerRun = await carrier(join(projectRoot(), 'tests/integration/media-server/caller-ring-cancel.xml'), port);
    expect(...ok(callerRun)).toBe(0);
    expect(...ok(await pbxRun)).toBe(0);
  });

  it('a 486 from the PBX reaches the caller', { timeout: 60_000 }, async () => {
    const port = await sippPorts.next();
    const pbxRun = startSipp(['-sf', join(projectRoot(), 'tests/integration/sip-core/scenarios/uas-busy.xml'), '-i', '127.0.0.1', '-p', String(pbxPort), '-mp', String(pbxPort + 2), '-m', '1']).done;
    const callerRun = await carrier(join(SIPP_DIR, 'inline', 'carrier-refused.xml'), port);
    expect(...ok(callerRun)).toBe(0);
    expect(...ok(await pbxRun)).toBe(0);
  });

  it('a blind transfer (REFER) from the PBX is followed: the caller stays on our leg and talks with the third party', { timeout: 60_000 }, async () => {
    const port = await sippPorts.next();
    const thirdPort = await sippPorts.next();
    const third = startSipp(['-sf', join(SIPP_DIR, 'agent-phone.xml'), '-i', '127.0.0.1', '-p', String(thirdPort), '-mp', String(thirdPort + 2), '-m', '1', '-key', 'voice', `${voices.third},-1,0`]);
    const toCaller = await startCapture({ filter: `udp and dst port ${port + 2}` });
    const toThird = await startCapture({ filter: `udp and dst port ${thirdPort + 2}` });
    const pbxRun = pbx('pbx-refer.xml', '-key', 'target', `sip:third@127.0.0.1:${thirdPort}`);
    const callerRun = await carrier(join(SIPP_DIR, 'inline', 'carrier-talk.xml'), port, '-key', 'keys', '1', '-key', 'infokey', '5', '-key', 'audio', `${voices.caller},-1,0`, '-d', '7000');
    expect(...ok(callerRun)).toBe(0);
    expect(...ok(await pbxRun)).toBe(0);
    expect(...ok(await third.done)).toBe(0);
    expect(framesDominatedBy(pcmuAudio(rtpTo(await toCaller.stop(), port + 2)), THIRD_HZ)).toBeGreaterThan(50);
    expect(framesDominatedBy(pcmuAudio(rtpTo(await toThird.stop(), thirdPort + 2)), CALLER_HZ)).toBeGreaterThan(50);
  });

  /** Waits until the capture being written holds the end of an RFC 4733 event `code` (tcpdump writes each packet as it comes). */
  async function eventSeen(capture: Capture, port: number, code: number): Promise<boolean> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      try {
        if (eventKeys(rtpTo(readPcapUdp(readFileSync(capture.path)), port), PBX_EVENT_PT).includes(code)) return true;
      } catch {
        // A packet half written: read again.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  function postStatus(path: string, body: unknown): Promise<Response> {
    return fetch(`${system.httpUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${system.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  async function statusOf(id: string, wanted: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const session = await system.api<Record<string, unknown>>(`/api/v1/sessions/${id}`);
      if (session.status === wanted || Date.now() > deadline) return session;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('a payment on the live call through the API: approved, its status callbacks in order and signed; the menu key before it and the key after it reach the PBX, no card key does', { timeout: 90_000 }, async () => {
    const port = await sippPorts.next();
    const toPbx = await startCapture({ filter: `udp and dst port ${pbxPort + 2}` });
    const agent = startSipp(['-sf', join(SIPP_DIR, 'agent-phone.xml'), '-i', '127.0.0.1', '-p', String(pbxPort), '-mp', String(pbxPort + 2), '-m', '1', '-key', 'voice', `${voices.agent},-1,0`]);
    const keys = keyStepsInjection(join(work, 'pay-on-call.csv'), ['1', 3000], [VISA, 2500], [EXPIRY, 1500], [CODE, 9000], ['2', 2500]);
    const callerRun = carrier(join(SIPP_DIR, 'direct-pay-hangup.xml'), port, ...keys);

    // The PBX menu choice has gone through; now the agent takes the payment.
    expect(await eventSeen(toPbx, pbxPort + 2, 1)).toBe(true);
    const { calls } = await system.api<{ calls: { id: string; state: string; paymentSessionId: string | null }[] }>('/api/v1/calls');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ state: 'connected', paymentSessionId: null });
    // The merchant's receiver checks each callback with the key the system made in its data folder.
    const receiver = new StatusCallbackReceiver(() => Buffer.from(readFileSync(join(dataDir, 'status-callback-key'), 'utf8').trim(), 'hex'));
    await receiver.start();
    const request = { amount: 4250, currency: 'EUR', reference: 'INLINE-1', idempotencyKey: 'inline-test-key-1', statusCallback: receiver.url };
    const payment = await system.post<{ id: string; status: string; callId: string }>(`/api/v1/calls/${calls[0]!.id}/payments`, request);
    expect(payment.callId).toBe(calls[0]!.id);
    // The same key again: the same payment, not a second one.
    expect((await system.post<{ id: string }>(`/api/v1/calls/${calls[0]!.id}/payments`, request)).id).toBe(payment.id);
    // Another key while it runs: refused; an unknown call: not found.
    expect((await postStatus(`/api/v1/calls/${calls[0]!.id}/payments`, { ...request, idempotencyKey: 'inline-test-key-2' })).status).toBe(409);
    expect((await postStatus('/api/v1/calls/leg-unknown/payments', request)).status).toBe(404);

    const run = await callerRun;
    expect(...ok(run)).toBe(0);
    expect(...ok(await agent.done)).toBe(0);
    expect(await statusOf(payment.id, 'approved')).toMatchObject({ status: 'approved', cardBrand: 'visa', cardLast4: '4242' });
    // The status callbacks: every event of the payment, in order, signed, with no card data; the last one its end.
    const deadline = Date.now() + 10_000;
    while (receiver.received.at(-1)?.body.event.type !== 'ended' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await receiver.stop();
    const callbacks = receiver.received.map((r) => r.body);
    expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
    expect(callbacks.every((c) => c.sessionId === payment.id)).toBe(true);
    expect(callbacks.map((c) => c.seq)).toEqual(callbacks.map((_, i) => callbacks[0]!.seq + i));
    const types = callbacks.map((c) => c.event.type);
    expect(types.at(-1)).toBe('ended');
    expect(callbacks.at(-1)!.event).toMatchObject({ result: 'approved' });
    expect(types.filter((t) => t === 'digit-entered')).toHaveLength(VISA.length + EXPIRY.length + CODE.length);
    expect(callbacks.find((c) => c.event.type === 'field-complete' && c.event.field === 'card-number')!.event).toMatchObject({ brand: 'visa', last4: '4242' });
    expect(callbacks.find((c) => c.event.type === 'approved')!.event.pspReference).toEqual(expect.any(String));
    expect(types.indexOf('secure-on')).toBeLessThan(types.indexOf('field-started'));
    expect(findCardDataInText(receiver.received.map((r) => r.rawBody).join('\n'), [VISA])).toEqual([]);
    const atPbx = rtpTo(await toPbx.stop(), pbxPort + 2);
    // RFC 4733 events to the PBX: the key before the payment and the key after it, nothing between.
    expect(eventKeys(atPbx, PBX_EVENT_PT)).toEqual([1, 2]);
    expect(detectKeys(pcmuAudio(atPbx))).toEqual([]);
    expect(findCardDataInText(system.output.join('\n'), [VISA])).toEqual([]);
    // The whole call recorded, paused once: the payment's secure window, closed before the call ended.
    const sidecar = sidecarOf(dataDir, payment.callId);
    expect(sidecar.pauses).toHaveLength(1);
    expect(sidecar.pauses[0]!.toSample).not.toBeNull();
    const audit = auditRecordings(dataDir);
    expect(audit.unreadable).toEqual([]);
    expect(audit.findings).toEqual([]);
  });

  /** The admin CLI on the system's data folder (as an operator runs it beside the service). */
  function admin(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(join(projectRoot(), 'node_modules/.bin/tsx'), ['scripts/admin.ts', ...args], { cwd: projectRoot(), env: { ...process.env, DATA_DIR: dataDir }, encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
      child.stdin?.end('a long passphrase for the test\n');
    });
  }

  function callsAs(key: string): Promise<{ calls: { id: string; agentId: string | null; callerNumber: string }[] }> {
    return fetch(`${system.httpUrl}/api/v1/calls`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.json() as never);
  }

  it('which call is whose: the PBX names the agent in its answer (X-Agent-Id), a CTI moves the call to another; each agent sees only their own', { timeout: 90_000 }, async () => {
    await admin('create-user', '--username', 'amy', '--name', 'Amy', '--role', 'agent', '--password-stdin');
    await admin('create-user', '--username', 'bob', '--name', 'Bob', '--role', 'agent', '--password-stdin');
    const amyKey = (await admin('create-api-key', '--name', 'amy-phone', '--role', 'agent', '--user', 'amy')).trim();
    const bobKey = (await admin('create-api-key', '--name', 'bob-phone', '--role', 'agent', '--user', 'bob')).trim();
    const port = await sippPorts.next();
    const pbxRun = pbx('pbx-agent-answer.xml', '-key', 'agent', 'amy');
    const callerRun = carrier(join(SIPP_DIR, 'inline', 'carrier-talk.xml'), port, '-key', 'keys', '1', '-key', 'infokey', '5', '-key', 'audio', `${voices.caller},-1,0`, '-d', '8000');

    const deadline = Date.now() + 15_000;
    let amyCalls = await callsAs(amyKey);
    while (amyCalls.calls.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      amyCalls = await callsAs(amyKey);
    }
    expect(amyCalls.calls).toHaveLength(1);
    const call = amyCalls.calls[0]!;
    // The caller's number, to an agent: its last four digits only.
    expect(call.callerNumber).toMatch(/^•+0001$/);
    expect((await callsAs(bobKey)).calls).toEqual([]);

    // An agent may not move calls; a CTI (the admin key here) may.
    const bind = (key: string, agentId: string): Promise<Response> =>
      fetch(`${system.httpUrl}/api/v1/calls/${call.id}/agent`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ agentId }) });
    expect((await bind(amyKey, 'bob')).status).toBe(403);
    expect((await bind(system.adminKey, 'nobody')).status).toBe(422);
    const moved = await bind(system.adminKey, 'bob');
    expect(moved.status).toBe(200);
    const { agentId: bobId } = (await moved.json()) as { agentId: string };
    expect(bobId).not.toBe(call.agentId);
    expect((await callsAs(bobKey)).calls.map((c) => [c.id, c.agentId])).toEqual([[call.id, bobId]]);
    expect((await callsAs(amyKey)).calls).toEqual([]);

    expect(...ok(await callerRun)).toBe(0);
    expect(...ok(await pbxRun)).toBe(0);
  });

  it("the agent's start code: *7, the code of a session the agent prepared and # on the PBX leg start its payment on the call, approved; no key of it reaches the caller", { timeout: 90_000 }, async () => {
    // Sessions are prepared for an agent with a phone on file (the transfer flow's call-back; unused in-line).
    await admin('create-user', '--username', 'cleo', '--name', 'Cleo', '--role', 'agent', '--sip-uri', 'sip:cleo@127.0.0.1:5999', '--password-stdin');
    const cleoKey = (await admin('create-api-key', '--name', 'cleo-phone', '--role', 'agent', '--user', 'cleo')).trim();
    const prepared = await fetch(`${system.httpUrl}/api/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cleoKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 1999, currency: 'EUR', reference: 'INLINE-CODE-1' }),
    });
    expect(prepared.status).toBe(201);
    const { id, code } = (await prepared.json()) as { id: string; code: string };

    const port = await sippPorts.next();
    const toCaller = await startCapture({ filter: `udp and dst port ${port + 2}` });
    const pbxRun = pbx('pbx-start-code.xml', '-key', 'startkeys', `*7${code}#`);
    const keys = keyStepsInjection(join(work, 'start-code.csv'), ['1', 5000], [VISA, 2500], [EXPIRY, 1500], [CODE, 9000]);
    const callerRun = await carrier(join(SIPP_DIR, 'direct-pay-hangup.xml'), port, ...keys);
    expect(...ok(callerRun)).toBe(0);
    expect(...ok(await pbxRun)).toBe(0);

    const session = await statusOf(id, 'approved');
    expect(session).toMatchObject({ status: 'approved', cardLast4: '4242' });
    expect(session.callId).toEqual(expect.any(String));
    // The caller's leg got no RFC 4733 event at all: the agent's keys were held from it.
    expect(rtpTo(await toCaller.stop(), port + 2).filter((p) => p.payloadType !== 0)).toEqual([]);
    const trail = await system.api<{ entries: { action: string; detail: Record<string, unknown> }[] }>(`/api/v1/sessions/${id}/audit`);
    expect(trail.entries.find((e) => e.action === 'start-code')?.detail).toEqual({ result: 'started' });
    expect(findCardDataInText(system.output.join('\n'), [VISA])).toEqual([]);
    expect(system.output.join('\n')).not.toContain(`*7${code}`);
  });
});
