import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllCaptures, startCapture } from '../../../tools/capture/tcpdump.js';
import { freePort } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { startTelephonyStack, telephonyStackMissing, type TelephonyStack } from '../../../tools/telephony-stack.js';
import { TEST_CARDS } from '../../../tools/test-cards.js';
import { BaresipPhone, killAllBaresip } from '../../support/baresip-phone.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { makeTestCertificates, type TestCertificates } from '../../support/test-certificates.js';
import { testDataDir } from '../../support/test-data-dir.js';


/**
 * The FreeSWITCH path with the TLS and SRTP options the README documents:
 * drachtio-server with a TLS contact (--contact sips:…;transport=tls, --cert-file,
 * --key-file, --chain-file, --min-tls-version 1.2) and FreeSWITCH with
 * FREESWITCH_RTP_SECURE_MEDIA=mandatory, both started for the run
 * (tools/telephony-stack.ts); baresip (not ours) calls over TLS with
 * mandatory SRTP (SDES).
 */
const missing = telephonyStackMissing();
describe.skipIf(missing !== undefined)(missing ? `baresip over TLS+SRTP on MEDIA_SERVER=freeswitch: skipped, ${missing}` : 'baresip over TLS with mandatory SRTP on MEDIA_SERVER=freeswitch', () => {
  const work = mkdtempSync(join(tmpdir(), 'baresip-fs-'));
  const dataDir = testDataDir('baresip-freeswitch');
  let certs: TestCertificates;
  let stack: TelephonyStack;
  let system: RunningSystem;

  beforeAll(async () => {
    certs = makeTestCertificates();
    writeFileSync(join(work, 'orders.json'), JSON.stringify([{ reference: '7001', amountMinor: 990, currency: 'EUR', description: 'FreeSWITCH SRTP order' }]));
    stack = await startTelephonyStack({ tls: { certFile: certs.certFile, keyFile: certs.keyFile, chainFile: certs.caFile }, srtp: 'mandatory' });
    system = await startSystem({
      ...(await stack.appEnv()),
      DATA_DIR: dataDir,
      HTTP_PORT: String(await freePort(32000)),
      ORDERS_FILE: join(work, 'orders.json'),
      LOG_LEVEL: 'debug',
      SANDBOX_LATENCY_MS: '50',
      // A busy machine: FreeSWITCH's event socket may take longer than the default 5 s to answer.
      MEDIA_SERVER_CONNECT_TIMEOUT_MS: '20000',
    }, { timeoutMs: 40_000 });
  }, 120_000);

  afterAll(async () => {
    killAllCaptures();
    killAllBaresip();
    await system?.stop();
    await stack?.stop();
    certs?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  // What does not work yet: drachtio-server answers with a sips: Contact (its TLS contact is sips:, the only
  // scheme sofia-sip binds TLS for), and baresip 1.0 (libre 1.1) cannot send to a sips: URI: it ends the
  // call at once (ENOSYS), so this test stops at the answer; the payment over this path is not shown.
  it('a call over drachtio-server\'s TLS contact with an SDES offer: FreeSWITCH answers RTP/SAVP with its own key; the TLS contact carries no plain SIP', { timeout: 60_000 }, async () => {
    const phone = await BaresipPhone.start({ user: 'caller', caFile: certs.caFile, voice: new Int16Array(8000 * 60) });
    const capture = await startCapture({ filter: `tcp and port ${stack.tlsPort}` });
    try {
      phone.dial(`sip:pay@127.0.0.1:${stack.tlsPort}`);
      expect((await phone.event('CALL_MENC', 20_000)).param).toMatch(/AES_CM_128_HMAC_SHA1_(80|32)/);
      await phone.event('CALL_CLOSED', 20_000);
    } finally {
      await capture.stop();
    }
    const answer = phone.sipMessages().find((m) => m.startsWith('SIP/2.0 200 OK') && /^CSeq: \d+ INVITE/m.test(m)) ?? '';
    expect(answer).toMatch(/^m=audio \d+ RTP\/SAVP 0 /m);
    expect(answer).toMatch(/^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/m);
    expect(answer).toMatch(/^Contact: <sips:127\.0\.0\.1:\d+;transport=tls>/m);
    await phone.stop();
    const wire = readFileSync(capture.path, 'latin1');
    expect(wire.length).toBeGreaterThan(1000);
    expect(['INVITE ', 'SIP/2.0', 'a=crypto'].filter((x) => wire.includes(x))).toEqual([]);
    expect(findCardDataInText(system.output.join('\n') + stack.output(), [TEST_CARDS.visa])).toEqual([]);
  });
});
