import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApplication, type Application } from '../../../app/application.js';
import { loadConfig } from '../../../app/config.js';
import { createLogger } from '../../../app/logger.js';
import { PaymentIvr } from '../../../ivr/call/payment-ivr.js';
import type { CardField } from '../../../domain/payment-types.js';
import type { ProgressEvent } from '../../../ivr/flow/flow-types.js';
import { PromptCatalogue } from '../../../ivr/prompts/prompt-catalogue.js';
import { PROMPT_LANGUAGES } from '../../../ivr/prompts/prompt-texts.js';
import { findCardDataInFiles, findCardDataInText } from '../../support/card-scan.js';
import type { FakeKeyMethod } from '../../support/freeswitch/fake-freeswitch.js';
import { freeswitchRig, type FreeswitchRig } from '../../support/media-server-contract/freeswitch-harness.js';
import { until } from '../../support/scripted-caller.js';
import { testDataDir } from '../../support/test-data-dir.js';
import { SHIPPED_FILES } from '../../../app/shipped-files.js';

// Public test card data (the sandbox PSP's approving Visa).
const PAN = '4242424242424242';
const EXPIRY = '1230';
const CVV = '123';

/**
 * The payment IVR as the application wires it, unchanged, on the FreeSWITCH
 * adapter (drachtio-srf and drachtio-fsmrf fakes): a direct-pay call keyed
 * partly as RFC 2833 events and partly as in-band tones is approved, and the
 * FreeSWITCH command log shows the recording masked and the caller's audio
 * muted from before the first card key to after the last; no card digit is
 * in the recording, the logs or the data directory.
 */
describe('payment IVR on the FreeSWITCH adapter', () => {
  const dataDir = testDataDir('freeswitch-ivr');
  const lines: string[] = [];
  const progress: ProgressEvent[] = [];
  let app: Application;
  let rig: FreeswitchRig;
  let ivr: PaymentIvr;

  beforeAll(async () => {
    const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', SIP_PORT: '0', LANGUAGE: 'en-GB', SANDBOX_LATENCY_MS: '0', INTER_DIGIT_TIMEOUT_MS: '2000' });
    const logger = createLogger({ level: 'trace', destination: { write: (l: string) => void lines.push(l) } });
    // The payment core as npm start builds it; its calls come through the FreeSWITCH adapter below.
    app = await buildApplication({ config, logger, dataDir });
    rig = freeswitchRig({ playbackMs: 2 });
    await rig.server.start();
    ivr = new PaymentIvr({
      mediaServer: rig.server,
      payNumber: config.PAY_NUMBER,
      prompts: new Map(PROMPT_LANGUAGES.map((language) => [language, new PromptCatalogue(language, SHIPPED_FILES.promptAudioDir)])),
      language: config.LANGUAGE,
      recordingDir: app.recordingDir,
      flow: { maxAttempts: config.MAX_ATTEMPTS, firstDigitTimeoutMs: config.FIRST_DIGIT_TIMEOUT_MS, interDigitTimeoutMs: config.INTER_DIGIT_TIMEOUT_MS },
      agentAssisted: {
        liveSessions: app.liveSessions,
        agentUriOf: async () => undefined,
        muteAgentDuringCapture: false,
        dialTimeoutMs: 1000,
        codeTtlMs: 60_000,
        releaseCallerAfterPayment: false,
        agentHearsPrompts: false,
      },
      deps: { store: app.store, audit: app.audit, vault: app.vault, authoriser: app.authoriser, orders: app.orders, logger: logger.child({ component: 'payment-call' }), onProgress: (_s, e) => progress.push(e) },
      logger: logger.child({ component: 'ivr' }),
    });
    ivr.start();
  });

  afterAll(async () => {
    ivr?.stop();
    await rig?.server.stop();
    await app?.stop();
  });

  it('takes a direct payment keyed by RFC 2833 and in-band tones, masked and paused from the first card key to the last', async () => {
    const caller = rig.srf.placeCall({ user: 'pay' });
    await caller.answered;
    const channel = rig.fs.channelWithRemoteSdp(caller.sdp)!;
    const uuid = channel.uuid;
    const press = async (keys: string, method: FakeKeyMethod): Promise<void> => {
      for (const key of keys) {
        rig.fs.press(channel, key, method);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const fieldStarted = (field: CardField): boolean => progress.some((e) => e.type === 'field-started' && e.field === field);

    await until(() => rig.fs.commands.some((c) => c.startsWith(`execute ${uuid} record_session`)), 5000, 'the recording');
    const recording = rig.fs.commands.find((c) => c.startsWith(`execute ${uuid} record_session`))!.split(' ').at(-1)!;
    await new Promise((r) => setTimeout(r, 50));
    await press('1001#', 'rfc4733');
    await until(() => fieldStarted('card-number'), 5000, 'the card number prompt');
    const firstCardKey = rig.fs.commands.length;
    await press(PAN.slice(0, 8), 'rfc4733');
    // A phone does not change method mid-number. Apart by more than the de-duplication window
    // (300 ms beyond the 100 ms the press is known to last), the same key by another method is a new press.
    await new Promise((r) => setTimeout(r, 600));
    await press(PAN.slice(8), 'inband');
    await until(() => fieldStarted('expiry'), 5000, 'the expiry prompt');
    await press(EXPIRY, 'inband');
    await until(() => fieldStarted('security-code'), 5000, 'the security code prompt');
    await new Promise((r) => setTimeout(r, 600));
    await press(CVV.slice(0, -1), 'rfc4733');
    // The command log's length when the last card key goes in.
    const lastCardKey = rig.fs.commands.length;
    await press(CVV.slice(-1), 'rfc4733');
    await until(() => progress.some((e) => e.type === 'approved'), 5000, 'approval');
    await caller.dialog!.destroyed;

    const log = rig.fs.commands;
    const at = (command: string): number => log.indexOf(command);
    // Paused and muted before the first card key, not released before the last.
    expect(at(`api uuid_record ${uuid} mask ${recording}`)).toBeGreaterThan(-1);
    expect(at(`api uuid_record ${uuid} mask ${recording}`)).toBeLessThan(firstCardKey);
    expect(at(`api uuid_audio ${uuid} start read mute 1`)).toBeLessThan(firstCardKey);
    expect(at(`api uuid_record ${uuid} unmask ${recording}`)).toBeGreaterThanOrEqual(lastCardKey);
    expect(log.slice(firstCardKey, lastCardKey)).not.toContain(`api uuid_audio ${uuid} stop`);
    expect(log.at(-1)).toBe(`execute ${uuid} hangup`);
    expect(rig.fs.refused).toEqual([]);

    // The in-band card keys never reached the recording; nothing anywhere holds the card.
    expect(rig.fs.recordings.get(recording)).toEqual([]);
    expect(findCardDataInText(lines.join('\n'), [PAN, `${EXPIRY}${CVV}`])).toEqual([]);
    expect(findCardDataInText(log.join('\n'), [PAN])).toEqual([]);
    expect(findCardDataInFiles(dataDir, [PAN])).toEqual([]);
  });
});
