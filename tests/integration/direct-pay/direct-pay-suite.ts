import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecordings } from '../../../tools/audit/recording-audit.js';
import { projectRoot } from '../../../app/project-root.js';
import { writeDtmfUlaw } from '../../../tools/dtmf-audio.js';
import { infoInjectionCsv } from '../../../scripts/qa-csv.js';
import { findCardDataInFiles, findCardDataInText } from '../../support/card-scan.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { freePort, keyStepsInjection, killAllSipp, runSipp, SippPortSequence, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { testDataDir } from '../../support/test-data-dir.js';
import { recordingsIn, sidecarOf } from '../../support/recordings.js';
import type { MediaServer } from '../../../media-server/media-server-port.js';
import { startTelephonyStack, telephonyStackMissing, type TelephonyStack } from '../../../tools/telephony-stack.js';
import { FakeAdyen } from '../../support/fake-adyen.js';
import { FakeStripe } from '../../support/fake-stripe.js';
import type { ReceivedRequest } from '../../support/fake-psp-server.js';
import { ALL_TEST_CARDS, TEST_CARDS } from '../../../tools/test-cards.js';
import { startPostgres, type RunningPostgres } from '../../../tools/postgres-server.js';

const { visa: VISA, mastercard: MASTERCARD, amex: AMEX, declined: DECLINED, insufficientFunds: NO_FUNDS, noAnswer: NO_ANSWER, badLuhn: BAD_LUHN } = TEST_CARDS;
const EXPIRY = '1230';
const TEST_CARD_DATA = ALL_TEST_CARDS;

const SIPP_DIR = join(projectRoot(), 'tests/sipp');

interface Payment {
  readonly id: string;
  readonly status: string;
  readonly amount: number;
  readonly currency: string;
  readonly cardBrand: string | null;
  readonly cardLast4: string | null;
  readonly declineReason: string | null;
  readonly pspReference: string | null;
  readonly callId: string | null;
}

interface SessionDetail extends Payment {
  readonly attempts: { field: string; attempt: number; outcome: string }[];
}

/** The PSP adapter a run of the suite goes through. */
export type PspUnderTest = 'sandbox' | 'stripe' | 'adyen';


/**
 * The direct pay number end to end: the system started as `npm start` starts
 * it (embedded media server, SQLite, default language) on the given PSP —
 * the sandbox, or the Stripe or Adyen adapter pointed at a local fake of that
 * PSP's API (tests/support/fake-stripe.ts, fake-adyen.ts) — real SIPp callers
 * on loopback keying with RFC 4733, SIP INFO and in-band tones, outcomes read
 * back through the payments API. Afterwards every log line, every byte of the
 * data directory and the paused spans of every recording are checked for
 * card data, and with a fake PSP every request it received: the card is only
 * ever in the body of the authorisation request.
 */
/**
 * `mediaServer`: the embedded one, or MEDIA_SERVER=freeswitch on
 * drachtio-server + FreeSWITCH started for the run (tools/telephony-stack.ts).
 * On FreeSWITCH the suite keeps the calls that exercise the media path
 * (each key method, approve, decline, retries, a hang-up); the PSP's
 * in-doubt handling and the 20-call load do not depend on it.
 * `mediaWorkers`: the embedded server's MEDIA_WORKERS (0, the default: its
 * RTP on the main thread).
 */
export function directPaySuite(pspUnderTest: PspUnderTest, mediaServer: MediaServer['kind'] = 'embedded', store: 'sqlite' | 'postgres' = 'sqlite', mediaWorkers = 0): void {
  const onFreeswitch = mediaServer === 'freeswitch';
  const missing = onFreeswitch ? telephonyStackMissing() : undefined;
  /** A call that runs on the embedded server only (see MediaServerUnderTest). */
  const embeddedOnly = onFreeswitch ? it.skip : it;
  const title = `direct pay number with SIPp (PSP=${pspUnderTest}${onFreeswitch ? ', MEDIA_SERVER=freeswitch' : ''}${store === 'postgres' ? ', STORE=postgres' : ''}${mediaWorkers > 0 ? `, MEDIA_WORKERS=${mediaWorkers}` : ''})`;
  describe.skipIf(missing !== undefined)(missing ? `${title}: skipped, ${missing}` : title, () => {
    // The callers' keys and audio (test input) stay out of the system's data, which CI audits for card numbers.
    const work = mkdtempSync(join(tmpdir(), 'direct-pay-'));
    const dataDir = testDataDir(`direct-pay-${pspUnderTest}`);
    let system: RunningSystem;
    let fake: FakeStripe | FakeAdyen | undefined;
    let stack: TelephonyStack | undefined;
    let postgres: RunningPostgres | undefined;

    beforeAll(async () => {
      const orders = Array.from({ length: 20 }, (_, i) => ({
        reference: String(2001 + i),
        amountMinor: 1000 + 125 * i,
        currency: 'EUR',
        description: `Test order ${2001 + i}`,
      }));
      writeFileSync(join(work, 'orders.json'), JSON.stringify(orders));
      const rtpBase = 50000 + Number(process.env.VITEST_POOL_ID ?? '1') * 600;
      const httpPort = await freePort(31000);
      stack = onFreeswitch ? await startTelephonyStack() : undefined;
      postgres = store === 'postgres' ? await startPostgres() : undefined;
      const media = stack
        ? await stack.appEnv()
        : { SIP_PORT: String(await freePort(33000)), RTP_PORT_MIN: String(rtpBase), RTP_PORT_MAX: String(rtpBase + 598) };
      system = await startSystem({
        ...(await startFakePsp(httpPort)),
        ...media,
        DATA_DIR: dataDir,
        HTTP_PORT: String(httpPort),
        ORDERS_FILE: join(work, 'orders.json'),
        LOG_LEVEL: 'debug',
        SANDBOX_LATENCY_MS: '50',
        PSP_TIMEOUT_MS: '1500',
        PSP_MAX_RETRIES: '0',
        RECONCILE_INTERVAL_SECONDS: '5',
        ...(postgres ? { STORE: 'postgres', DATABASE_URL: postgres.url() } : {}),
        ...(mediaWorkers > 0 ? { MEDIA_WORKERS: String(mediaWorkers) } : {}),
      });
    }, 60_000);

    afterAll(() => rmSync(work, { recursive: true, force: true }));

    afterAll(async () => {
      killAllSipp();
      await system?.stop();
      await stack?.stop();
      await postgres?.stop();
      await fake?.close();
    });

    /** The PSP settings of this run; a fake PSP is started on loopback first. */
    async function startFakePsp(httpPort: number): Promise<Record<string, string>> {
      if (pspUnderTest === 'stripe') {
        const stripe = new FakeStripe();
        fake = stripe;
        return { PSP: 'stripe', STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_API_BASE: await stripe.start() };
      }
      if (pspUnderTest === 'adyen') {
        const adyen = new FakeAdyen();
        fake = adyen;
        await adyen.start();
        // Adyen's answer to a payment whose response was lost comes by webhook, to the system's HTTP port.
        adyen.webhookUrl = `http://127.0.0.1:${httpPort}/psp/adyen/webhooks`;
        return {
          PSP: 'adyen',
          ADYEN_API_KEY: adyen.apiKey,
          ADYEN_MERCHANT_ACCOUNT: adyen.merchantAccount,
          ADYEN_HMAC_KEY: adyen.hmacKey,
          ADYEN_API_BASE: adyen.apiBase,
        };
      }
      return { PSP: 'sandbox' };
    }

    const callerPorts = new SippPortSequence(35000);

    async function call(scenario: string, extra: string[], calls = 1): Promise<SippRun> {
      const port = await callerPorts.next();
      return runSipp({
        args: [
          `127.0.0.1:${system.sipPort}`,
          '-sf', join(SIPP_DIR, scenario),
          '-s', 'pay',
          '-i', '127.0.0.1',
          '-p', String(port),
          '-mp', String(port + 2),
          '-m', String(calls),
          '-l', String(calls),
          '-r', String(calls),
          ...extra,
        ],
        timeoutMs: 100_000,
      });
    }

    const steps = (name: string, ...keyed: [keys: string, pauseMs: number][]): string[] =>
      keyStepsInjection(join(work, `${name}.csv`), ...keyed);

    /**
     * One call keying the reference and a card by RFC 4733, typing ahead of the prompts.
     * SIPp's play_dtmf starts each group of keys at the same RTP timestamp, and may
     * not send the last key's end packets before the next group: the embedded
     * receiver takes that, FreeSWITCH's loses a key ("TS changed from last packet,
     * resetting"). On FreeSWITCH the keys go in paced steps (a phone's timestamps
     * only move on, so no phone does this).
     */
    async function rfc4733Call(reference: string, card: string): Promise<SippRun> {
      if (!onFreeswitch) return call('direct-pay-rfc4733.xml', ['-key', 'ref', reference, '-key', 'pan', card, '-key', 'exp', EXPIRY, '-key', 'cvv', '123']);
      return call('direct-pay-keys.xml', steps(`rfc4733-${reference}`, [`${reference}#`, 1500], [card, 1500], [EXPIRY, 800], ['123', 500]));
    }

    async function payments(reference: string): Promise<Payment[]> {
      return (await system.api<{ payments: Payment[] }>(`/api/v1/payments?reference=${reference}`)).payments;
    }

    async function onlyPayment(reference: string): Promise<SessionDetail> {
      const found = await payments(reference);
      expect(found).toHaveLength(1);
      return system.api<SessionDetail>(`/api/v1/sessions/${found[0]!.id}`);
    }

    function expectSuccess(run: SippRun): void {
      expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
    }

    describe.concurrent('calls', { timeout: 100_000 }, () => {
      it('RFC 4733 digits: approved, with the amount, brand and last four', async () => {
        expectSuccess(await rfc4733Call('2001', VISA));
        expect(await onlyPayment('2001')).toMatchObject({ status: 'approved', amount: 1000, currency: 'EUR', cardBrand: 'visa', cardLast4: '4242' });
      });

      it('SIP INFO digits: approved', async () => {
        const csv = join(work, 'info.csv');
        writeFileSync(csv, infoInjectionCsv([{ reference: '2002', card: MASTERCARD, expiry: EXPIRY, securityCode: '123' }]));
        expectSuccess(await call('direct-pay-info.xml', ['-inf', csv]));
        expect(await onlyPayment('2002')).toMatchObject({ status: 'approved', amount: 1125, cardBrand: 'mastercard', cardLast4: '4444' });
      });

      // FreeSWITCH detects tones on frames read by its wall clock: when SIPp, on this busy machine,
      // stalls its audio mid-tone, FreeSWITCH fills the gap and spandsp reports the key twice (a
      // card number then ends a key early and the expiry reads e.g. 5123). A carrier does not stall
      // like that; the embedded engine reads the RTP timestamps and is not fooled. So on
      // FreeSWITCH a stalled run is tried again, and a second failure is a real one.
      it('in-band tones in the caller\'s audio: approved', { retry: onFreeswitch ? 2 : 0 }, async () => {
        const audio = join(work, 'inband.ulaw');
        writeDtmfUlaw(audio, [{ waitMs: 1000 }, { keys: '2003#' }, { waitMs: 1500 }, { keys: `${AMEX}${EXPIRY}1234` }, { waitMs: 500 }]);
        expectSuccess(await call('direct-pay-inband.xml', ['-key', 'audio', `${audio},1,0`]));
        expect(await onlyPayment('2003')).toMatchObject({ status: 'approved', amount: 1250, cardBrand: 'amex', cardLast4: '0005' });
      });

      it('a wrong-Luhn card number, then the good one: approved, the failed attempt recorded', async () => {
        const inject = steps('luhn', ['2004#', 1500], [`${BAD_LUHN}#`, 1500], [VISA, 1500], [EXPIRY, 800], ['123', 500]);
        expectSuccess(await call('direct-pay-keys.xml', inject));
        const payment = await onlyPayment('2004');
        expect(payment).toMatchObject({ status: 'approved', cardLast4: '4242' });
        expect(payment.attempts.map((a) => `${a.field}:${a.outcome}`)).toEqual([
          'card-number:invalid-card-number',
          'card-number:accepted',
          'expiry:accepted',
          'security-code:accepted',
        ]);
      });

      it('a declined card: declined', async () => {
        expectSuccess(await rfc4733Call('2005', DECLINED));
        expect(await onlyPayment('2005')).toMatchObject({ status: 'declined', declineReason: 'generic-decline', cardLast4: '0002' });
      });

      it('insufficient funds: declined with that reason', async () => {
        expectSuccess(await rfc4733Call('2006', NO_FUNDS));
        expect(await onlyPayment('2006')).toMatchObject({ status: 'declined', declineReason: 'insufficient-funds' });
      });

      it('an unknown reference, then a known one: approved', async () => {
        const inject = steps('unknown-ref', ['9999#', 1500], ['2007#', 1500], [VISA, 1500], [EXPIRY, 800], ['123', 500]);
        expectSuccess(await call('direct-pay-keys.xml', inject));
        expect(await onlyPayment('2007')).toMatchObject({ status: 'approved', amount: 1750 });
        expect(await payments('9999')).toEqual([]);
      });

      it('the caller hangs up in the card number: abandoned, the recording resumed', async () => {
        expectSuccess(await call('direct-pay-hangup.xml', steps('hangup', ['2008#', 1500], [VISA.slice(0, 8), 800])));
        const payment = await until(async () => {
          const p = await onlyPayment('2008');
          return p.status === 'abandoned' ? p : undefined;
        });
        expect(payment.attempts).toEqual([]);
        // On FreeSWITCH the adapter writes the sidecar from where the file stood at uuid_record mask and unmask.
        const sidecar = sidecarOf(dataDir, payment.callId!);
        expect(sidecar.pauses.length).toBeGreaterThan(0);
        expect(sidecar.pauses.every((p) => p.toSample !== null)).toBe(true);
      });

      embeddedOnly('the PSP does not answer: in doubt, then reconciled to what the PSP did', async () => {
        expectSuccess(await call('direct-pay-rfc4733.xml', ['-key', 'ref', '2009', '-key', 'pan', NO_ANSWER, '-key', 'exp', EXPIRY, '-key', 'cvv', '123']));
        const { id } = await onlyPayment('2009');
        // The reconciler asks the PSP every RECONCILE_INTERVAL_SECONDS (5 s here).
        const settled = await until(async () => {
          const p = await onlyPayment('2009');
          return p.status !== 'in_doubt' ? p : undefined;
        }, 20_000);
        expect(settled).toMatchObject({ status: 'approved', cardLast4: '0341' });
        expect(settled.pspReference).toBeTruthy();
        const { entries } = await system.api<{ entries: { action: string; detail: Record<string, unknown> }[] }>(`/api/v1/sessions/${id}/audit`);
        const actions = entries.map((e) => e.action);
        expect(actions).toContain('authorisation-in-doubt');
        expect(actions.indexOf('authorisation-reconciled')).toBeGreaterThan(actions.indexOf('authorisation-in-doubt'));
        expect(entries.find((e) => e.action === 'authorisation-reconciled')?.detail).toMatchObject({ outcome: 'approved' });
      });

      embeddedOnly('20 concurrent paying calls all end approved', async () => {
        const run = await call('direct-pay-rfc4733.xml', ['-key', 'ref', '2010', '-key', 'pan', VISA, '-key', 'exp', EXPIRY, '-key', 'cvv', '123'], 20);
        expectSuccess(run);
        const all = await payments('2010');
        expect(all).toHaveLength(20);
        expect(all.map((p) => p.status)).toEqual(Array(20).fill('approved'));
      });
    });

    it('left no card data in any log line or byte of the data directory, and no sound in a paused recording span', { timeout: 30_000 }, async () => {
      expect(await system.stop()).toBe(0);
      expect(system.output.length).toBeGreaterThan(10);
      expect(findCardDataInText(system.output.join('\n'), TEST_CARD_DATA)).toEqual([]);
      expect(findCardDataInFiles(dataDir, TEST_CARD_DATA)).toEqual([]);
      // What drachtio-server and FreeSWITCH printed (errors and warnings only, as configured).
      if (stack) expect(findCardDataInText(stack.output(), TEST_CARD_DATA)).toEqual([]);
      // FreeSWITCH writes its recordings itself; the adapter keeps their sidecars, audited the same way.
      const audit = auditRecordings(dataDir);
      // Every call that reached the card prompt paused its recording (the FreeSWITCH run has fewer calls).
      const calls = onFreeswitch ? 7 : 29;
      expect(audit.recordingsScanned).toBeGreaterThanOrEqual(calls);
      expect(audit.recordingsScanned).toBe(recordingsIn(dataDir).length);
      expect(audit.pausedMs).toBeGreaterThan(calls * 2000);
      expect(audit.unreadable).toEqual([]);
      expect(audit.findings).toEqual([]);
      if (fake) {
        // The PSP saw every authorisation, and the card only ever in the body of one.
        const cardCarrying = (r: ReceivedRequest): boolean => r.method === 'POST' && /^\/v(1\/payment_intents|1\/setup_intents|71\/payments)$/.test(r.path);
        const requests = fake.server.requests;
        expect(requests.filter(cardCarrying).length).toBeGreaterThanOrEqual(28);
        const elsewhere = requests.flatMap((r) => [r.path, r.query, JSON.stringify(r.headers), ...(cardCarrying(r) ? [] : [r.body])]);
        expect(findCardDataInText(elsewhere.join('\n'), TEST_CARD_DATA)).toEqual([]);
        if (fake instanceof FakeAdyen) expect(findCardDataInText(JSON.stringify(fake.webhooks), TEST_CARD_DATA)).toEqual([]);
      }
    });
  });
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
