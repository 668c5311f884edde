import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { EmbeddedMediaServer } from '../../../media-server/embedded/embedded-media-server.js';
import type { DtmfEvent, InboundCall } from '../../../media-server/media-server-port.js';
import { createLogger } from '../../../app/logger.js';
import { projectRoot } from '../../../app/project-root.js';
import { freePort, killAllSipp, runSipp } from '../../../tools/sipp/sipp-process.js';

/**
 * The media server port driven by a small test application (answer, play a
 * prompt with barge-in, collect keys, hang up) against real SIPp callers.
 */
describe('embedded media server with SIPp', () => {
  let server: EmbeddedMediaServer;
  let sipPort: number;
  const scenario = join(projectRoot(), 'tests/fixtures/media/sipp-play-dtmf-uac.xml');

  beforeAll(async () => {
    sipPort = await freePort(40000);
    server = new EmbeddedMediaServer({ sipHost: '127.0.0.1', sipPort, rtpPortMin: 42000 + (sipPort % 1000) * 4, rtpPortMax: 42000 + (sipPort % 1000) * 4 + 200, logger: createLogger({ level: 'silent' }) });
    await server.start();
  });
  afterEach(() => killAllSipp());
  afterAll(async () => {
    await server?.stop();
  });

  it('answers a SIPp call, plays a prompt and reports each RFC 4733 key once', async () => {
    const keys: DtmfEvent[] = [];
    const ended = new Promise<string>((resolve) => {
      server.once('call', (call: InboundCall) => {
        expect(call.calledUser).toBe('pay');
        call.on('dtmf', (e) => keys.push(e));
        call.on('ended', (e) => resolve(e.reason));
        void call.answer().then(() =>
          call.play([{ file: join(projectRoot(), 'ivr/prompts/audio/en-GB/welcome.wav') }], { bargeIn: true }),
        );
      });
    });
    const callerPort = await freePort(46000);
    const run = await runSipp({
      args: [`127.0.0.1:${sipPort}`, '-sf', scenario, '-s', 'pay', '-i', '127.0.0.1', '-p', String(callerPort), '-mp', String(callerPort + 4), '-m', '1'],
      timeoutMs: 20_000,
    });
    expect(run.exitCode, run.errors || run.stderr).toBe(0);
    expect(await ended).toBe('remote-hangup');
    expect(keys.map((k) => k.key).join('')).toBe('12#5');
    expect(new Set(keys.map((k) => k.method))).toEqual(new Set(['rfc4733']));
  });

  it('refuses an offer with no common codec with 488', async () => {
    const callerPort = await freePort(47000);
    const run = await runSipp({
      args: [`127.0.0.1:${sipPort}`, '-sf', join(projectRoot(), 'tests/integration/media-server/uac-g729-only.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(callerPort), '-mp', String(callerPort + 4), '-m', '1'],
      timeoutMs: 15_000,
    });
    expect(run.exitCode, run.errors || run.stderr).toBe(0);
  });
});
