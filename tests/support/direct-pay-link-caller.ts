import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { projectRoot } from '../../app/project-root.js';
import type { ProgressEvent } from '../../ivr/flow/flow-types.js';
import { freePort, keyStepsInjectionFrom, runSipp, SippPortSequence, type SippRun } from '../../tools/sipp/sipp-process.js';
import type { RunningSystem } from '../../tools/system-process.js';
import { testDataDir } from './test-data-dir.js';

// A UK mobile as libphonenumber reads it (its metadata calls Ofcom's 07700 900xxx drama range invalid), not Luhn-valid.
export const LINK_CALLER = '+447400123456';

interface Frame {
  readonly sessionId: string;
  readonly seq: number;
  readonly event: ProgressEvent;
}

/**
 * What the direct pay link tests share (direct-pay-link-sipp.test.ts,
 * direct-pay-link-adyen-sipp.test.ts): the system's settings for a direct pay
 * number taking `orders` with the link offer on, an admin stream of every
 * session, and a SIPp caller from LINK_CALLER who keys the reference, 9 once
 * the amount and the offer play, then 1 once their number's ending is read.
 */
export class DirectPayLinkCalls {
  readonly frames: Frame[] = [];
  readonly #work: string;
  readonly #ports = new SippPortSequence(36500);
  #system: RunningSystem | undefined;
  #socket: WebSocket | undefined;

  constructor(work: string) {
    this.#work = work;
  }

  /** The system's settings (PSP settings on top), orders written to the work folder. */
  async settings(name: string, orders: readonly { reference: string; amountMinor: number; currency: string; description: string }[]): Promise<Record<string, string>> {
    writeFileSync(join(this.#work, 'orders.json'), JSON.stringify(orders));
    const rtpBase = 52000 + Number(process.env.VITEST_POOL_ID ?? '1') * 200;
    return {
      SMS_PROVIDER: 'sandbox',
      SMS_DEFAULT_COUNTRY: 'GB',
      PAYMENT_LINK_OFFER: 'on',
      LANGUAGE: 'en-GB',
      DATA_DIR: testDataDir(name),
      HTTP_PORT: String(await freePort(31500)),
      SIP_PORT: String(await freePort(33500)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 198),
      ORDERS_FILE: join(this.#work, 'orders.json'),
      RECORDING: 'off',
    };
  }

  /** Follows every session on the system's stream (admin key). */
  async follow(system: RunningSystem): Promise<void> {
    this.#system = system;
    const socket = new WebSocket(`${system.httpUrl.replace('http', 'ws')}/api/v1/stream`, { headers: { authorization: `Bearer ${system.adminKey}` } });
    this.#socket = socket;
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Frame | { type: string };
      if ('seq' in message) this.frames.push(message);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  }

  close(): void {
    this.#socket?.close();
  }

  /** The caller on the pay number keys `reference`, then 9, then 1. */
  async callAndChooseLink(reference: string): Promise<SippRun> {
    const system = this.#need();
    const port = await this.#ports.next();
    const keys = keyStepsInjectionFrom(join(this.#work, `${reference}.csv`), LINK_CALLER, [`${reference}#`, 3000], ['9', 2500], ['1', 500]);
    return runSipp({
      args: [`127.0.0.1:${system.sipPort}`, '-sf', join(projectRoot(), 'tests/sipp/direct-pay-keys.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', ...keys],
      timeoutMs: 60_000,
    });
  }

  /**
   * The caller chooses the link for `reference`: the one session it made,
   * `link-sent`, its one text to LINK_CALLER, and the PSP's id of the link
   * the text carries (`link`'s first group).
   */
  async linkTexted(reference: string, link: RegExp): Promise<{ sessionId: string; providerLinkId: string }> {
    const system = this.#need();
    const run = await this.callAndChooseLink(reference);
    expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
    const { payments } = await system.api<{ payments: { id: string; status: string }[] }>(`/api/v1/payments?reference=${reference}`);
    expect(payments).toHaveLength(1);
    const sessionId = payments[0]!.id;
    expect(payments[0]!.status).toBe('link-sent');
    const { messages } = await system.api<{ messages: { recipient: string; body: string }[] }>(`/api/v1/sms/outbox?sessionId=${sessionId}`);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.recipient).toBe(LINK_CALLER);
    const url = link.exec(messages[0]!.body);
    expect(url, messages[0]!.body).not.toBeNull();
    return { sessionId, providerLinkId: url![1]! };
  }

  /** The session's status once it is `wanted`, or as it is after 10 s. */
  async statusOf(sessionId: string, wanted: string): Promise<string> {
    const system = this.#need();
    for (const deadline = Date.now() + 10_000; ; ) {
      const { status } = await system.api<{ status: string }>(`/api/v1/sessions/${sessionId}`);
      if (status === wanted || Date.now() > deadline) return status;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The link events and the approval the stream carried for `sessionId`, in order. */
  streamed(sessionId: string): string[] {
    return this.frames.filter((f) => f.sessionId === sessionId && (f.event.type.startsWith('link-') || f.event.type === 'approved')).map((f) => f.event.type);
  }

  #need(): RunningSystem {
    if (!this.#system) throw new Error('follow(system) first');
    return this.#system;
  }
}
