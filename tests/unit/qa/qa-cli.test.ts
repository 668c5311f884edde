import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { QA_SCENARIOS } from '../../../scripts/qa/qa-scenarios.js';

/**
 * `npm run qa` explaining itself, with no deployment behind it: the usage,
 * the scenario list, and an unreachable or refusing target reported in one
 * line with exit 2 before any scenario (or SIPp) runs. The runs against a
 * real system are in tests/integration/qa/.
 */

const run = promisify(execFile);

async function qa(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(join(projectRoot(), 'node_modules/.bin/tsx'), [join(projectRoot(), 'scripts/qa.ts'), ...args], { timeout: 30_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/** A UDP SIP endpoint that answers every request 200, as the IVR answers OPTIONS. */
async function sipResponder(): Promise<number> {
  const socket: UdpSocket = createSocket('udp4');
  socket.on('message', (msg, from) => {
    const via = /^Via: .*$/im.exec(msg.toString('latin1'))?.[0] ?? '';
    socket.send(`SIP/2.0 200 OK\r\n${via}\r\nContent-Length: 0\r\n\r\n`, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  closers.push(() => socket.close());
  return socket.address().port;
}

/** A UDP port nothing listens on: bound for a free number, then closed. */
async function closedUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

async function httpServer(status: number, body = '{"payments":[]}'): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** A TCP port nothing listens on. */
async function closedTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('npm run qa', () => {
  it('--help prints the usage and exits 0; an unknown option is one line and exit 2', async () => {
    const help = await qa(['--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/^Usage: npm run qa -- --target HOST:PORT \[options\]/);
    for (const option of ['--target', '--scenario', '--list', '--api', '--api-key', '--agent-port', '--local-ip', '--references', '--parallel', '--junit', '-h, --help']) {
      expect(help.stdout).toContain(`\n  ${option} `);
    }
    expect(help.stdout).toContain('--no-api');
    const bad = await qa(['--nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("qa: Unknown option '--nope' (--help shows the options)\n");
  });

  it('--list shows every scenario with what it checks', async () => {
    const list = await qa(['--list']);
    expect(list.code).toBe(0);
    for (const s of QA_SCENARIOS) {
      expect(list.stdout).toContain(`${s.name.padEnd(30)}${s.slow ? '(slow) ' : ''}${s.description}\n`);
      expect(list.stdout).toContain(`checks: ${s.checks}\n`);
    }
  });

  it('reports an API nobody answers on in one line, exit 2, before any scenario', async () => {
    const sip = await sipResponder();
    const apiPort = await closedTcpPort();
    const r = await qa(['--target', `127.0.0.1:${sip}`, '--api', `http://127.0.0.1:${apiPort}`, '--api-key', 'k'.repeat(40)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`qa: cannot reach the API at http://127.0.0.1:${apiPort}: connect ECONNREFUSED 127.0.0.1:${apiPort}\n`);
    expect(r.stdout).toBe('');
  });

  it('reports a SIP target nobody answers on in one line, exit 2', async () => {
    const { url } = await httpServer(200);
    const sip = await closedUdpPort();
    const r = await qa(['--target', `127.0.0.1:${sip}`, '--api', url, '--api-key', 'k'.repeat(40)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`qa: cannot reach the SIP target 127.0.0.1:${sip}: port unreachable (nothing listens there over UDP)\n`);
  });

  it('reports an API that refuses the key in one line, exit 2', async () => {
    const sip = await sipResponder();
    const { url } = await httpServer(401);
    const r = await qa(['--target', `127.0.0.1:${sip}`, '--api', url, '--api-key', 'k'.repeat(40)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`qa: the API at ${url} refused the API key (HTTP 401): give --api-key or $QA_API_KEY, or --no-api\n`);
  });

  it('reports a server that is not the payments API in one line, exit 2', async () => {
    const sip = await sipResponder();
    const { url } = await httpServer(200, '<html>a web server</html>');
    const r = await qa(['--target', `127.0.0.1:${sip}`, '--api', url, '--api-key', 'k'.repeat(40)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`qa: the API at ${url} answered GET /api/v1/payments with HTTP 200 but no payments list: is --api the agent-bridge address?\n`);
  });
});
