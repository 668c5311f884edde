import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditRecordings } from '../../../tools/audit/recording-audit.js';
import { projectRoot } from '../../../app/project-root.js';
import { parseWav } from '../../../media-server/embedded/media/wav-reader.js';
import { findCardDataInFiles, findCardDataInText } from '../../support/card-scan.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { freePort, keyStepsInjection, killAllSipp, SippPortSequence, startSipp, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { testDataDir } from '../../support/test-data-dir.js';
import { recordingOf, sidecarOf } from '../../support/recordings.js';
import { startFakeRecorder } from '../../support/fake-recorder.js';

// Public test cards: one that approves, one the sandbox charges but never answers for.
const VISA = '4242424242424242';
const CHARGED_NO_ANSWER = '4000000000000341';
const SIPP_DIR = join(projectRoot(), 'tests/sipp');

interface Session {
  readonly id: string;
  readonly status: string;
  readonly callId: string | null;
}

/**
 * The real process, killed and restarted: kill -9 in the middle of card
 * capture and in the middle of an authorisation, SIGTERM with a call in
 * progress. What survives is read back through the API, the recordings and
 * the sandbox PSP's ledger.
 */
describe('crash safety and graceful shutdown of the real process', () => {
  const work = testDataDir('crash');
  // The caller's keys (test input) stay out of the data CI audits for card numbers.
  const inputs = mkdtempSync(join(tmpdir(), 'crash-input-'));
  const ports = new SippPortSequence(38000);
  const systems: RunningSystem[] = [];

  afterAll(async () => {
    rmSync(inputs, { recursive: true, force: true });
    killAllSipp();
    for (const system of systems) system.kill('SIGKILL');
  });

  async function start(name: string, extra: Record<string, string> = {}, sipPort?: number, httpPort?: number): Promise<RunningSystem> {
    const rtpBase = 54000 + Number(process.env.VITEST_POOL_ID ?? '1') * 300 + systems.length * 30;
    const system = await startSystem({
      DATA_DIR: join(work, name),
      HTTP_PORT: String(httpPort ?? (await freePort(31000))),
      SIP_PORT: String(sipPort ?? (await freePort(33000))),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 28),
      LOG_LEVEL: 'debug',
      SANDBOX_LATENCY_MS: '20',
      ...extra,
    });
    systems.push(system);
    return system;
  }

  /** A SIPp caller; `kill()` ends this one only (the tests run side by side). */
  async function caller(system: RunningSystem, scenario: string, extra: string[]): Promise<{ done: Promise<SippRun>; kill(): void }> {
    const port = await ports.next();
    const { child, done } = startSipp([`127.0.0.1:${system.sipPort}`, '-sf', scenario, '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', ...extra]);
    return { done, kill: () => child.kill('SIGKILL') };
  }

  async function sessionFor(system: RunningSystem, reference: string, wanted: (s: Session) => boolean, timeoutMs = 30_000): Promise<Session> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { payments } = await system.api<{ payments: Session[] }>(`/api/v1/payments?reference=${reference}`);
      const found = payments.find(wanted);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no session for ${reference} as wanted; have ${JSON.stringify(payments)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function auditActions(system: RunningSystem, id: string): Promise<{ action: string; detail: Record<string, unknown> }[]> {
    return (await system.api<{ entries: { action: string; detail: Record<string, unknown> }[] }>(`/api/v1/sessions/${id}/audit`)).entries;
  }

  describe.concurrent('kill -9', { timeout: 90_000 }, () => {
    it('during card capture: after restart the payment is abandoned, its recording closed with the span paused, and the audit says so', async () => {
      const first = await start('capture');
      const call = caller(first, join(SIPP_DIR, 'direct-pay-hangup.xml'), keyStepsInjection(join(inputs, 'capture.csv'), ['1001#', 1500], [VISA.slice(0, 10), 30_000]));
      const capturing = await sessionFor(first, '1001', (s) => s.status === 'capturing');
      // Some card digits are in the vault (and nowhere else) when the process dies.
      await new Promise((r) => setTimeout(r, 2500));
      first.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      (await call).kill();

      const second = await start('capture');
      const after = await sessionFor(second, '1001', (s) => s.id === capturing.id);
      expect(after.status).toBe('abandoned');
      const entries = await auditActions(second, capturing.id);
      expect(entries.find((e) => e.action === 'call-interrupted')?.detail).toEqual({ previousStatus: 'capturing', recording: 'closed-while-paused' });

      const dataDir = join(work, 'capture');
      const sidecar = sidecarOf(dataDir, capturing.callId!);
      expect(sidecar.interrupted).toBe(true);
      expect(sidecar.stoppedAt).not.toBeNull();
      expect(sidecar.pauses.length).toBe(1);
      expect(sidecar.pauses[0]!.toSample).toBe(sidecar.samples);
      const wav = parseWav(readFileSync(recordingOf(dataDir, capturing.callId!)), { channels: 2 });
      expect(wav.frameCount).toBe(sidecar.samples);
      const audit = auditRecordings(dataDir);
      expect(audit.unreadable).toEqual([]);
      expect(audit.findings).toEqual([]);
      expect(await second.stop()).toBe(0);
      expect(findCardDataInText([...first.output, ...second.output].join('\n'), [VISA, VISA.slice(0, 10)])).toEqual([]);
      expect(findCardDataInFiles(dataDir, [VISA, VISA.slice(0, 10)])).toEqual([]);
    });

    it('during card capture with an external recorder: after restart the recorder is told to resume, audited', async () => {
      const recorder = await startFakeRecorder();
      const received = recorder.calls;
      const env = { RECORDER_WEBHOOK_URL: recorder.url };
      try {
        const first = await start('recorder', env);
        const call = caller(first, join(SIPP_DIR, 'direct-pay-hangup.xml'), keyStepsInjection(join(inputs, 'recorder.csv'), ['1001#', 1500], [VISA.slice(0, 10), 30_000]));
        const capturing = await sessionFor(first, '1001', (s) => s.status === 'capturing');
        const deadline = Date.now() + 15_000;
        while (!received.some((r) => r.action === 'pause') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 1500));
        first.kill('SIGKILL');
        expect(await first.exited).toBe('SIGKILL');
        (await call).kill();
        // Paused, never resumed by the process that died.
        expect(received.map((r) => r.action)).toEqual(['pause']);

        const second = await start('recorder', env);
        const resumeDeadline = Date.now() + 15_000;
        while (received.length < 2 && Date.now() < resumeDeadline) await new Promise((r) => setTimeout(r, 50));
        expect(received[1]).toMatchObject({ action: 'resume', callId: capturing.callId, sessionId: capturing.id, recovered: true });
        const entries = await auditActions(second, capturing.id);
        expect(entries.filter((e) => e.action === 'recorder-resume').map((e) => e.detail)).toEqual([{ attempt: 1, status: 204, recovered: true }]);
        expect(await second.stop()).toBe(0);
        // Once resumed, a later start has nothing more to send.
        const third = await start('recorder', env);
        await new Promise((r) => setTimeout(r, 500));
        expect(received).toHaveLength(2);
        expect(await third.stop()).toBe(0);
      } finally {
        await recorder.close();
      }
    });

    it('during authorisation: after restart the payment is in doubt, then reconciled to the PSP\'s charge, charged once', async () => {
      // The sandbox charges this card and never answers; the authoriser would wait a minute.
      const first = await start('authorise', { PSP_TIMEOUT_MS: '60000' });
      const call = caller(first, join(SIPP_DIR, 'direct-pay-rfc4733.xml'), ['-key', 'ref', '1002', '-key', 'pan', CHARGED_NO_ANSWER, '-key', 'exp', '1230', '-key', 'cvv', '123']);
      const authorising = await sessionFor(first, '1002', (s) => s.status === 'authorising');
      await new Promise((r) => setTimeout(r, 300));
      first.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      (await call).kill();

      const second = await start('authorise');
      const settled = await sessionFor(second, '1002', (s) => s.id === authorising.id && s.status !== 'authorising' && s.status !== 'in_doubt');
      expect(settled).toMatchObject({ status: 'approved', cardLast4: '0341' });
      const actions = (await auditActions(second, authorising.id)).map((e) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['authorisation-requested', 'authorisation-interrupted', 'authorisation-reconciled']));
      expect(actions.indexOf('authorisation-interrupted')).toBeLessThan(actions.indexOf('authorisation-reconciled'));
      // One charge, written once by the first process: the second charged nothing.
      const ledger = readFileSync(join(work, 'authorise', 'sandbox-psp-ledger.jsonl'), 'utf8').trim().split('\n');
      expect(ledger).toHaveLength(1);
      expect(await second.stop()).toBe(0);
    });
  });

  it('SIGTERM: new calls get 503 and /readyz says not ready while the call in progress finishes, approved; then the process exits 0', { timeout: 90_000 }, async () => {
    const system = await start('drain', { SHUTDOWN_DRAIN_SECONDS: '60' });
    const inProgress = caller(system, join(SIPP_DIR, 'direct-pay-rfc4733.xml'), ['-key', 'ref', '1003', '-key', 'pan', VISA, '-key', 'exp', '1230', '-key', 'cvv', '123']);
    await sessionFor(system, '1003', (s) => s.status === 'capturing');
    system.kill('SIGTERM');
    const deadline = Date.now() + 5000;
    let ready = await fetch(`${system.httpUrl}/readyz`);
    while (ready.status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      ready = await fetch(`${system.httpUrl}/readyz`);
    }
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, boolean> }).checks.accepting).toBe(false);
    const refused = await (await caller(system, join(projectRoot(), 'tests/integration/lifecycle/uac-expect-503.xml'), [])).done;
    expect(refused.exitCode, refused.stdout.slice(-800)).toBe(0);
    const finished = await (await inProgress).done;
    expect(finished.exitCode, finished.stdout.slice(-800)).toBe(0);
    // Its last call done, the process exits by itself; the payment is there when it comes back.
    expect(await system.exited).toBe(0);
    // It waited for the call's recording to close (header sized, sidecar stopped) before exiting,
    // so nothing is left for the next start's recovery.
    const recordings = auditRecordings(join(work, 'drain'));
    expect([recordings.recordingsScanned, recordings.unfinished, recordings.unreadable, recordings.findings]).toEqual([1, [], [], []]);
    const again = await start('drain');
    const { payments } = await again.api<{ payments: Session[] }>('/api/v1/payments?reference=1003');
    expect(payments.map((p) => p.status)).toEqual(['approved']);
    expect(await again.stop()).toBe(0);
  });

});
