import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UdpDatagram } from '../../../tools/capture/pcap-reader.js';
import { createNamespacePair, type NamespacePair } from '../../support/network-namespace.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { freePort } from '../../../tools/sipp/sipp-process.js';
import { startCapture, type Capture } from '../../../tools/capture/tcpdump.js';
import { testDataDir } from '../../support/test-data-dir.js';

// Scans with Debian's sipvicious (svmap, svwar) from a source outside
// SIP_ALLOW learn nothing. The system listens on the host end of a veth pair
// and serves loopback only; the scanners run in a network namespace on the
// other end. Every answer they get is a bare 403 (RFC 3261 §21.4.4) carrying
// only what it must copy from the request — no Server or User-Agent line, no
// Allow, Contact or Supported that would fingerprint it — so svmap sees an
// "unknown" device and svwar tells no extension from another; over TCP the
// connection is closed before a byte is read. tcpdump on the host end checks
// every datagram the system sent into the namespace.

/** The headers a 403 has to carry: the ones a response copies (§8.2.6.2), and its length. */
const BARE_403_HEADERS = ['via', 'from', 'to', 'call-id', 'cseq', 'content-length'];

function installed(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Sent inside the namespace: connects over TCP, sends an OPTIONS and reports what came back. */
const TCP_PROBE = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const result = { connected: false, bytes: 0, closedByServer: false };
const socket = net.connect({ host, port: Number(port) }, () => {
  result.connected = true;
  socket.write('OPTIONS sip:' + host + ' SIP/2.0\\r\\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK-probe\\r\\nFrom: <sip:probe@10.0.0.1>;tag=p\\r\\nTo: <sip:' + host + '>\\r\\nCall-ID: probe\\r\\nCSeq: 1 OPTIONS\\r\\nMax-Forwards: 70\\r\\nContent-Length: 0\\r\\n\\r\\n');
});
socket.on('data', (d) => (result.bytes += d.length));
socket.on('error', () => undefined);
let timedOut = false;
const timer = setTimeout(() => { timedOut = true; socket.destroy(); }, 10000);
socket.on('close', () => { clearTimeout(timer); result.closedByServer = !timedOut; console.log(JSON.stringify(result)); });
`;

describe('SIP scans from outside SIP_ALLOW (sipvicious in a network namespace)', { timeout: 60_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'sip-scan-'));
  let ns: NamespacePair | undefined;
  let system: RunningSystem | undefined;
  let capture: Capture | undefined;
  let sipPort = 0;

  beforeAll(async () => {
    if (!installed('svmap') || !installed('svwar')) {
      throw new Error('sipvicious is not installed: these tests scan with its svmap and svwar (scripts/install-test-tools.sh installs it)');
    }
    // Throws NamespaceUnavailableError, naming what is missing, where namespaces cannot be made: never a silent pass.
    ns = createNamespacePair(`sv${process.pid % 100_000}`, 1 + (process.pid % 250));
    sipPort = await freePort(33000);
    const rtpBase = 50000 + Number(process.env.VITEST_POOL_ID ?? '1') * 600;
    system = await startSystem({
      DATA_DIR: testDataDir('sip-scan'),
      HTTP_PORT: String(await freePort(31000)),
      SIP_HOST: ns.hostAddress,
      SIP_PORT: String(sipPort),
      SIP_ALLOW: '127.0.0.0/8,::1/128',
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 598),
      LOG_LEVEL: 'info',
    });
    capture = await startCapture({ iface: ns.hostInterface, filter: `udp and src host ${ns.hostAddress} and src port ${sipPort}` });
  });

  afterAll(async () => {
    await capture?.stop().catch(() => undefined);
    await system?.stop();
    ns?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  it('svmap (OPTIONS and INVITE) gets no fingerprint: no User-Agent or Server to read', async () => {
    for (const method of ['OPTIONS', 'INVITE']) {
      const run = await ns!.exec('svmap', ['-m', method, '-p', String(sipPort), ns!.hostAddress]);
      const output = run.stdout + run.stderr;
      const rows = [...output.matchAll(/^\|\s*(\d+\.\d+\.\d+\.\d+:\d+)\s*\|\s*(.*?)\s*\|$/gm)].map((m) => ({ device: m[1], agent: m[2] }));
      expect(rows.map((r) => r.agent), output).toEqual(rows.map(() => 'unknown'));
    }
  });

  it('svwar enumerates no extension, by REGISTER, INVITE or OPTIONS, over a range or a dictionary with the pay number', async () => {
    const dictionary = join(work, 'extensions.txt');
    writeFileSync(dictionary, ['pay', '100', '1000', '2000', 'admin', 'ivr', 'agent', 'operator'].join('\n'));
    // Without --force svwar stops at once: the unknown extension's 403 reads to it as "needs authentication".
    // With it, it scans on, and every extension gets the same 403 as the unknown one.
    const scans = [
      ['-m', 'REGISTER', '-e', '100-160'],
      ['--force', '-m', 'REGISTER', '-d', dictionary],
      ['--force', '-m', 'INVITE', '-d', dictionary],
      ['--force', '-m', 'OPTIONS', '-e', '100-160'],
    ];
    for (const scan of scans) {
      const run = await ns!.exec('svwar', [...scan, '-p', String(sipPort), ns!.hostAddress]);
      const output = run.stdout + run.stderr;
      expect(output, output).toMatch(/found nothing/);
      expect(output).not.toMatch(/extension '[^']*' (exists|probably exists)/);
    }
  });

  it('over TCP the connection is closed before a byte is read, with nothing sent back', async () => {
    // The probe waits 10 s for the handshake (SYN retries at 1 s and 3 s); a handshake lost to a
    // machine saturated by the rest of the suite is tried again.
    let result: { connected: boolean; bytes: number; closedByServer: boolean } | undefined;
    for (let attempt = 0; attempt < 3 && !result?.connected; attempt++) {
      const run = await ns!.exec(process.execPath, ['-e', TCP_PROBE, ns!.hostAddress, String(sipPort)]);
      result = JSON.parse(run.stdout.trim()) as typeof result;
    }
    expect(result).toEqual({ connected: true, bytes: 0, closedByServer: true });
  });

  it('on the wire, every answer to the namespace was a bare 403, and no call reached the payment IVR', async () => {
    const datagrams: UdpDatagram[] = await capture!.stop();
    capture = undefined;
    // The scans did reach the system (a datagram lost now and then on a loaded machine changes nothing).
    expect(datagrams.length).toBeGreaterThan(0);
    for (const datagram of datagrams) {
      expect(datagram.destination).toBe(ns!.namespaceAddress);
      const [statusLine, ...lines] = datagram.payload.toString('latin1').split('\r\n\r\n')[0]!.split('\r\n');
      expect(statusLine).toBe('SIP/2.0 403 Forbidden');
      const names = [...new Set(lines.map((line) => line.slice(0, line.indexOf(':')).trim().toLowerCase()))];
      expect(names.filter((name) => !BARE_403_HEADERS.includes(name))).toEqual([]);
    }
    // An INVITE that reached the IVR would be refused as an unknown number (logged) or answered and recorded.
    expect(system!.output.filter((line) => /unknown number|payment session/.test(line))).toEqual([]);
    const recordings = join(system!.dataDir, 'recordings');
    expect(existsSync(recordings) ? readdirSync(recordings) : []).toEqual([]);
  });
});
