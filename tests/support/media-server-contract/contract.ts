import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LegCallMedia } from '../../../ivr/call/leg-call-media.js';
import { PromptCatalogue } from '../../../ivr/prompts/prompt-catalogue.js';
import type { CallLeg, DtmfEvent, DtmfMethod, InboundCall, LegEnded, MediaServer } from '../../../media-server/media-server-port.js';
import { SHIPPED_FILES } from '../../../app/shipped-files.js';

/**
 * One contract for the media server port, run against every adapter: the
 * embedded one with real SIP and RTP on loopback, the FreeSWITCH one with
 * drachtio-srf and drachtio-fsmrf fakes. A harness stands on the telephony
 * side of the adapter under test and plays the parties: callers, the phones
 * the server dials, and the ears that say which keys reached a phone or a
 * recording.
 */

/** A party calling the server. */
export interface ContractCaller {
  /** The final status our server sent to the INVITE (200 once answered, or the refusal). */
  readonly finalStatus: Promise<number>;
  /** Presses keys, one after the other, by one method; resolves once each was sent in full. */
  press(keys: string, method: DtmfMethod): Promise<void>;
  /** BYE from the caller. */
  hangUp(): Promise<void>;
  /** CANCEL before the answer. */
  cancel(): Promise<void>;
  /** Resolves when the server sent BYE. */
  readonly hungUpByServer: Promise<void>;
  /** A re-INVITE that puts the call on hold (true) or takes it off (false); resolves with the response status. */
  hold(on: boolean): Promise<number>;
  /** The Refer-To targets of the REFERs the server sent this caller. */
  referTargets(): string[];
}

/** A phone the server can dial. */
export interface ContractPhone {
  readonly uri: string;
  /** The caller's keys that reached this phone so far, as RFC 4733 events, SIP INFO or tones in its audio. */
  keysHeard(): Promise<string>;
  readonly hungUpByServer: Promise<void>;
  /** The X- headers of the INVITE it received. */
  inviteHeader(name: string): string | undefined;
}

export type PhoneBehaviour = 'answer' | 'busy' | 'no-answer';

export interface ContractHarness {
  readonly server: MediaServer;
  call(options?: { user?: string; headers?: Record<string, string>; codecs?: 'g711' | 'g729' }): Promise<ContractCaller>;
  phone(behaviour: PhoneBehaviour): Promise<ContractPhone>;
  /**
   * Lets a masking or mute change take effect before the test relies on it,
   * as the payment flow does (a prompt plays after masking goes on; the
   * last key's tone ends after it goes off).
   */
  settle(): Promise<void>;
  /**
   * How long after startRecording() resolves the recording starts to hear
   * the caller. 0 when unset; FreeSWITCH's record_session media bug starts
   * on the frames after its execute completes (about 100 ms).
   */
  readonly recordingStartMs?: number;
  /** Keys audible on the caller's side of a recording the server wrote (stopped first). */
  keysInRecording(path: string): Promise<string>;
  close(): Promise<void>;
}

/** What one leg of the server reported. */
interface LegLog {
  readonly keys: DtmfEvent[];
  readonly holds: boolean[];
  readonly ended: Promise<LegEnded>;
}

function watch(leg: CallLeg): LegLog {
  const keys: DtmfEvent[] = [];
  const holds: boolean[] = [];
  leg.on('dtmf', (e) => keys.push(e));
  leg.on('hold', (held) => holds.push(held));
  return { keys, holds, ended: new Promise((resolve) => leg.on('ended', resolve)) };
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The shared test suite; `setUp` makes a started server and its harness. */
export function describeMediaServerContract(name: string, setUp: () => Promise<ContractHarness>): void {
  describe(`media server port contract: ${name}`, () => {
    let h: ContractHarness;
    const dir = mkdtempSync(join(tmpdir(), 'port-contract-'));
    const open = new Set<CallLeg>();

    beforeAll(async () => {
      h = await setUp();
    });
    afterEach(async () => {
      await Promise.allSettled([...open].map((leg) => leg.hangup()));
      open.clear();
    });
    afterAll(async () => {
      await h?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** Calls in and waits for the server's 'call' event, listeners attached at once. */
    async function callIn(options?: Parameters<ContractHarness['call']>[0]): Promise<{ caller: ContractCaller; call: InboundCall; log: LegLog }> {
      const offered = new Promise<{ call: InboundCall; log: LegLog }>((resolve) => {
        const onCall = (call: InboundCall): void => {
          h.server.off('call', onCall);
          open.add(call);
          resolve({ call, log: watch(call) });
        };
        h.server.on('call', onCall);
      });
      const caller = await h.call(options);
      return { caller, ...(await offered) };
    }

    async function answered(options?: Parameters<ContractHarness['call']>[0]): Promise<{ caller: ContractCaller; call: InboundCall; log: LegLog }> {
      const c = await callIn(options);
      await c.call.answer();
      expect(await c.caller.finalStatus).toBe(200);
      return c;
    }

    /** A caller bridged to a phone the server dialled. */
    async function bridged(): Promise<{ caller: ContractCaller; call: InboundCall; log: LegLog; phone: ContractPhone; agent: CallLeg }> {
      const c = await answered();
      const phone = await h.phone('answer');
      const agent = await h.server.dial(phone.uri, { headers: { 'X-Payment-Session': 'ps_contract' }, timeoutMs: 5000 });
      open.add(agent);
      h.server.bridge(c.call, agent);
      return { ...c, phone, agent };
    }

    it('offers an inbound call with the caller, the number dialled and the headers; answer() gives the caller a 200', async () => {
      const { call } = await answered({ user: 'pay', headers: { 'X-Payment-Session': 'ps_abc123' } });
      expect(call.calledUser).toBe('pay');
      expect(call.from).toMatch(/^sip:caller@/);
      expect(call.headers.get('x-payment-session')).toBe('ps_abc123');
      expect(call.ended).toBe(false);
    });

    it('refuses an offer with no common codec with 488, before any call event', async () => {
      let offered = false;
      const onCall = (): void => {
        offered = true;
      };
      h.server.on('call', onCall);
      const caller = await h.call({ codecs: 'g729' });
      expect(await caller.finalStatus).toBe(488);
      h.server.off('call', onCall);
      expect(offered).toBe(false);
    });

    it('reject() refuses with that status and ends the leg as rejected', async () => {
      const { caller, call, log } = await callIn();
      await call.reject(486, 'Busy Here');
      expect(await caller.finalStatus).toBe(486);
      expect(await log.ended).toMatchObject({ reason: 'rejected', status: 486 });
    });

    it('a caller who cancels before the answer ends the leg as cancelled', async () => {
      const { caller, log } = await callIn();
      await caller.cancel();
      expect(await log.ended).toMatchObject({ reason: 'cancelled' });
    });

    it('reports a key by RFC 4733, by SIP INFO and by in-band tones once each, with its method', async () => {
      const { caller, log } = await answered();
      await caller.press('1', 'rfc4733');
      await caller.press('5', 'info');
      await caller.press('9', 'inband');
      await until(() => log.keys.length >= 3, 'three keys');
      await new Promise((r) => setTimeout(r, 100));
      expect(log.keys.map((k) => `${k.key}:${k.method}`)).toEqual(['1:rfc4733', '5:info', '9:inband']);
    });

    it('play() completes; with barge-in a key stops it, and the key is still reported; a hang-up ends it as hangup', async () => {
      const { caller, call, log } = await answered();
      expect(await call.play([{ silenceMs: 60 }])).toBe('completed');
      const barged = call.play([{ silenceMs: 10_000 }], { bargeIn: true });
      await new Promise((r) => setTimeout(r, 50));
      await caller.press('4', 'rfc4733');
      expect(await barged).toBe('stopped');
      expect(log.keys.map((k) => k.key)).toEqual(['4']);
      const cut = call.play([{ silenceMs: 10_000 }]);
      await new Promise((r) => setTimeout(r, 50));
      await caller.hangUp();
      expect(await cut).toBe('hangup');
      expect(await log.ended).toMatchObject({ reason: 'remote-hangup' });
    });

    it('hangup() sends BYE and ends the leg as local-hangup; a second hangup() is harmless', async () => {
      const { caller, call, log } = await answered();
      await call.hangup();
      await caller.hungUpByServer;
      expect(await log.ended).toMatchObject({ reason: 'local-hangup' });
      await call.hangup();
      expect(call.ended).toBe(true);
    });

    it('a re-INVITE to hold and back is answered 200 and reported as hold true, then false', async () => {
      const { caller, log } = await answered();
      expect(await caller.hold(true)).toBe(200);
      expect(await caller.hold(false)).toBe(200);
      await until(() => log.holds.length === 2, 'two hold events');
      expect(log.holds).toEqual([true, false]);
    });

    it('transfer() sends REFER with the target and resolves once accepted', async () => {
      const { caller, call } = await answered();
      await call.transfer('sip:desk@127.0.0.1');
      expect(caller.referTargets().map((t) => t.replace(/[<>]/g, ''))).toEqual(['sip:desk@127.0.0.1']);
    });

    it('dial() resolves with the answered leg and carries the headers; busy is rejected 486; no answer gives up after timeoutMs', async () => {
      const phone = await h.phone('answer');
      const leg = await h.server.dial(phone.uri, { headers: { 'X-Payment-Session': 'ps_dial' }, timeoutMs: 5000 });
      open.add(leg);
      expect(leg.ended).toBe(false);
      expect(phone.inviteHeader('X-Payment-Session')).toBe('ps_dial');
      await leg.hangup();
      await phone.hungUpByServer;

      const busy = await h.phone('busy');
      await expect(h.server.dial(busy.uri, { timeoutMs: 5000 })).rejects.toMatchObject({ reason: 'rejected', status: 486 });
      const silent = await h.phone('no-answer');
      await expect(h.server.dial(silent.uri, { timeoutMs: 300 })).rejects.toMatchObject({ reason: 'no-answer' });
    });

    it('bridged and masked, no key of the caller reaches the other party by any method; unmasked, tones pass again', async () => {
      const { caller, call, log, phone } = await bridged();
      call.setDtmfMasking(true);
      await h.settle();
      await caller.press('1', 'rfc4733');
      await caller.press('2', 'info');
      await caller.press('3', 'inband');
      await until(() => log.keys.length >= 3, 'three keys');
      call.setDtmfMasking(false);
      await h.settle();
      expect(log.keys.map((k) => k.key).join('')).toBe('123');
      expect(await phone.keysHeard()).toBe('');
      // The control: the same path carries the caller's audio when not masked.
      await caller.press('6', 'inband');
      await until(() => log.keys.length >= 4, 'the fourth key');
      expect(await phone.keysHeard()).toBe('6');
    });

    it('bridged, the other party hears the caller while a prompt plays to the caller, and after it', async () => {
      const { caller, call, log, phone } = await bridged();
      // A result and a reference read out, file by file (about 5 s): the caller's key comes while it plays.
      const en = (name: string): { file: string } => ({ file: join(SHIPPED_FILES.promptAudioDir, 'en-GB', `${name}.wav`) });
      const playing = call.play([en('please-wait'), en('payment-approved'), { silenceMs: 120 }, en('letter-Y'), { silenceMs: 60 }, en('letter-B'), { silenceMs: 60 }, en('letter-U'), { silenceMs: 60 }, en('letter-U')]);
      await new Promise((r) => setTimeout(r, 1500));
      await caller.press('1', 'inband');
      await until(() => log.keys.length >= 1, 'the key during the prompt');
      expect(await playing).toBe('completed');
      await caller.press('6', 'inband');
      await until(() => log.keys.length >= 2, 'the key after the prompt');
      expect(await phone.keysHeard()).toBe('16');
    });

    it('bridged and muted, nothing the caller sends reaches the other party', async () => {
      const { caller, call, log, phone } = await bridged();
      call.setMuted(true);
      await h.settle();
      await caller.press('7', 'inband');
      await until(() => log.keys.length >= 1, 'the key');
      expect(await phone.keysHeard()).toBe('');
      call.setMuted(false);
    });

    it('unbridge() is safe twice, and a leg that hangs up leaves the bridge', async () => {
      const c = await answered();
      const phone = await h.phone('answer');
      const agent = await h.server.dial(phone.uri, { timeoutMs: 5000 });
      open.add(agent);
      const bridge = h.server.bridge(c.call, agent);
      expect(bridge.legs).toEqual([c.call, agent]);
      bridge.unbridge();
      bridge.unbridge();
      const again = h.server.bridge(c.call, agent);
      await agent.hangup();
      again.unbridge();
      expect(c.call.ended).toBe(false);
    });

    it('a recording paused around card entry holds no key pressed while paused, and the keys before and after', async () => {
      const { caller, call, log } = await answered();
      const path = join(dir, `${call.id}.wav`);
      await call.startRecording({ path });
      await new Promise((r) => setTimeout(r, h.recordingStartMs ?? 0));
      await caller.press('1', 'inband');
      await until(() => log.keys.length >= 1, 'the first key');
      await call.pauseRecording();
      await caller.press('2', 'inband');
      await until(() => log.keys.length >= 2, 'the paused key');
      await call.resumeRecording();
      await caller.press('3', 'inband');
      await until(() => log.keys.length >= 3, 'the last key');
      await call.stopRecording();
      // Three different keys: a run of one key is one press whose tone a recording frame lost under load
      // split in two (seen once on the real FreeSWITCH: "113"). A leaked 2 still fails.
      expect((await h.keysInRecording(path)).replace(/(.)\1+/g, '$1')).toBe('13');
    });

    it("through the IVR's own LegCallMedia: a card keyed while masked and paused reaches neither the agent nor the recording", async () => {
      const { caller, call, log, phone } = await bridged();
      const path = join(dir, `${call.id}.wav`);
      await call.startRecording({ path });
      const media = new LegCallMedia({
        leg: call,
        prompts: new PromptCatalogue('en-GB', SHIPPED_FILES.promptAudioDir),
        recording: { pause: () => call.pauseRecording(), resume: () => call.resumeRecording() },
        release: () => void call.hangup(),
      });
      // As a payment call does: keys masked for the session, the secure window around the card.
      media.setMasking(true);
      media.setSecureWindow(true);
      await media.pauseRecording();
      // A test card number's first digits, by each method a phone may use.
      // (Each key once: the same key by two methods within 300 ms counts as one press.)
      await caller.press('41', 'rfc4733');
      await caller.press('7', 'info');
      await caller.press('23', 'inband');
      await until(() => log.keys.length >= 5, 'five keys');
      media.setSecureWindow(false);
      media.setMasking(false);
      await h.settle();
      await media.resumeRecording();
      await caller.press('8', 'inband');
      await until(() => log.keys.length >= 6, 'the key after capture');
      await call.stopRecording();
      expect(log.keys.map((k) => k.key).join('')).toBe('417238');
      expect(await phone.keysHeard()).toBe('8');
      expect(await h.keysInRecording(path)).toBe('8');
    });
  });
}
