import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../app/logger.js';
import { projectRoot } from '../../../app/project-root.js';
import { FreeswitchMediaServer } from '../../../media-server/freeswitch/freeswitch-media-server.js';
import { MediaServerConnectError } from '../../../media-server/freeswitch/freeswitch-errors.js';
import { DrachtioWireStub } from '../../support/freeswitch/drachtio-wire-stub.js';
import { FakeFreeswitch, FakeMediaServer, FakeMrf } from '../../support/freeswitch/fake-freeswitch.js';

/**
 * MEDIA_SERVER=freeswitch with no usable drachtio-server or FreeSWITCH must
 * stop at once with one clear line, not hang (drachtio-srf and
 * drachtio-modesl both retry for ever). The real drachtio-srf against a
 * closed port, a port that never answers and a stub that refuses the
 * secret; then the whole process (`app/main.ts`, as `npm start` runs it).
 */

const DRACHTIO_SECRET = 'drachtio-startup-secret-1234';
const FREESWITCH_SECRET = 'freeswitch-startup-secret-1234';
const stubs: DrachtioWireStub[] = [];
const servers: Server[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'fs-startup-'));

afterEach(async () => {
  for (const stub of stubs.splice(0)) await stub.stop();
  for (const server of servers.splice(0)) {
    const closed = new Promise((r) => server.close(r));
    server.emit('close');
    await closed;
  }
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A TCP port that accepts and never says a word (a black-holed drachtio-server). */
async function silentPort(): Promise<number> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    server.once('close', () => socket.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function adapter(drachtioPort: number, mrf = new FakeMrf(new FakeMediaServer(new FakeFreeswitch()))): FreeswitchMediaServer {
  return new FreeswitchMediaServer({
    drachtio: { host: '127.0.0.1', port: drachtioPort, secret: DRACHTIO_SECRET },
    freeswitch: { host: '127.0.0.1', port: 8021, secret: FREESWITCH_SECRET, listenHost: '127.0.0.1', listenPort: 0 },
    sipPort: 5060,
    connectTimeoutMs: 400,
    logger: createLogger({ level: 'silent' }),
    mrf: () => mrf,
  });
}

describe('FreeSWITCH adapter start-up with the real drachtio-srf', () => {
  it('nothing listening: MediaServerConnectError with ECONNREFUSED, without waiting for the timeout', async () => {
    const port = await closedPort();
    const err = await adapter(port).start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaServerConnectError);
    expect(err).toMatchObject({ component: 'drachtio-server', address: `127.0.0.1:${port}`, problem: 'ECONNREFUSED' });
  });

  it('a port that never answers: MediaServerConnectError after connectTimeoutMs', async () => {
    const err = await adapter(await silentPort()).start().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'MediaServerConnectError', problem: 'no answer within 400 ms' });
  });

  it('a drachtio-server that refuses the secret: MediaServerConnectError, and the secret is in no message', async () => {
    const stub = await DrachtioWireStub.start('fail');
    stubs.push(stub);
    const err = await adapter(stub.port).start().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'MediaServerConnectError', problem: 'it refused DRACHTIO_SECRET' });
    expect((err as Error).message).not.toContain(DRACHTIO_SECRET);
    expect(stub.received[0]).toBe(`authenticate|${DRACHTIO_SECRET}|`);
  });

  it('a drachtio-server that accepts: the adapter registers for INVITEs and goes on to FreeSWITCH', async () => {
    const stub = await DrachtioWireStub.start('ok');
    stubs.push(stub);
    const mrf = new FakeMrf(new FakeMediaServer(new FakeFreeswitch()));
    const server = adapter(stub.port, mrf);
    await server.start();
    try {
      expect(server.connected).toBe(true);
      expect(mrf.connects).toHaveLength(1);
      await expect.poll(() => stub.received).toContain('route|invite');
    } finally {
      await server.stop();
    }
  });
});

/** Runs `app/main.ts` with `env`; resolves with its exit code and what it wrote to stderr. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'app/main.ts')], {
      cwd: projectRoot(),
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, HTTP_PORT: '0', LOG_LEVEL: 'warn', MEDIA_SERVER: 'freeswitch', DRACHTIO_SECRET, FREESWITCH_SECRET, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('npm start with MEDIA_SERVER=freeswitch and no drachtio-server', () => {
  it('exits 1 with one line naming drachtio-server, its address and the settings; no secret printed', async () => {
    const port = await closedPort();
    const run = await runMain({ DRACHTIO_PORT: String(port) });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(
      `fatal: MEDIA_SERVER=freeswitch: cannot use drachtio-server at 127.0.0.1:${port} (ECONNREFUSED); check that it runs and DRACHTIO_HOST, DRACHTIO_PORT and DRACHTIO_SECRET match it`,
    );
    expect(run.stderr + run.stdout).not.toContain(DRACHTIO_SECRET);
    expect(run.stderr + run.stdout).not.toContain(FREESWITCH_SECRET);
  }, 40_000);

  it('a drachtio-server that never answers: exits 1 after MEDIA_SERVER_CONNECT_TIMEOUT_MS', async () => {
    const run = await runMain({ DRACHTIO_PORT: String(await silentPort()), MEDIA_SERVER_CONNECT_TIMEOUT_MS: '500' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot use drachtio-server at 127\.0\.0\.1:\d+ \(no answer within 500 ms\)/);
  }, 40_000);

  it('drachtio-server up but no FreeSWITCH event socket: exits 1 naming FreeSWITCH (the real drachtio-fsmrf)', async () => {
    const stub = await DrachtioWireStub.start('ok');
    stubs.push(stub);
    const fsPort = await closedPort();
    const run = await runMain({ DRACHTIO_PORT: String(stub.port), FREESWITCH_PORT: String(fsPort), FREESWITCH_LISTEN_PORT: '0' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`cannot use FreeSWITCH event socket at 127\\.0\\.0\\.1:${fsPort} \\(ECONNREFUSED\\); check that it runs and FREESWITCH_HOST`));
    expect(run.stderr + run.stdout).not.toContain(FREESWITCH_SECRET);
  }, 40_000);
});
