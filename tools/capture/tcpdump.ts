/**
 * Packet capture for the integration tests: tcpdump writing a pcap of what
 * really crossed the loopback interface, read back with the pcap reader in
 * tools/capture/pcap-reader.ts. tcpdump needs root (or CAP_NET_RAW); CI
 * installs it (Debian `tcpdump`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPcapUdp, type UdpDatagram } from './pcap-reader.js';

export interface CaptureOptions {
  /** A pcap-filter(7) expression, e.g. `udp and dst port 16000`. */
  readonly filter: string;
  /** Default `lo`. */
  readonly iface?: string;
  /** How long to wait for tcpdump to say it is listening. Default 5 s. */
  readonly startTimeoutMs?: number;
  /**
   * Default true: each packet is written as it comes. False lets the kernel
   * hand packets over in blocks (a 16 MiB buffer): far less CPU at thousands
   * of packets a second, which a benchmark on a small machine needs, at the
   * cost of the last block before the stop possibly going unwritten.
   */
  readonly immediate?: boolean;
}

export interface Capture {
  /** The pcap file tcpdump writes. */
  readonly path: string;
  /** Stops tcpdump (SIGINT, so it flushes the file) and reads the UDP datagrams it captured. */
  stop(): Promise<UdpDatagram[]>;
}

/** tcpdump could not be started or did not start listening. */
export class CaptureError extends Error {
  override readonly name = 'CaptureError';
}

const running = new Set<ChildProcess>();

/**
 * Starts tcpdump and resolves once it is listening (its "listening on"
 * line on stderr comes after the filter is installed), so nothing sent
 * after this resolves is missed. `-U` and `--immediate-mode` hand each
 * packet to the file as it comes rather than in TPACKET_V3 blocks, which a
 * SIGINT could otherwise leave unwritten.
 */
export function startCapture(options: CaptureOptions): Promise<Capture> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdump-'));
  const path = join(dir, 'capture.pcap');
  const buffering = options.immediate === false ? ['-B', '16384'] : ['-U', '--immediate-mode'];
  const args = ['-i', options.iface ?? 'lo', '-n', ...buffering, '-s', '0', '-w', path, options.filter];
  const child = spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new CaptureError(`tcpdump did not start listening within ${options.startTimeoutMs ?? 5_000} ms: ${stderr.trim()}`));
    }, options.startTimeoutMs ?? 5_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      running.delete(child);
      reject(
        new CaptureError(
          err.code === 'ENOENT'
            ? 'tcpdump is not installed: these tests capture RTP on loopback with it (apt-get install tcpdump; CI installs it)'
            : `tcpdump could not be started: ${err.message}`,
        ),
      );
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new CaptureError(`tcpdump exited (${code}) before listening (it needs root or CAP_NET_RAW): ${stderr.trim()}`));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!/listening on /.test(stderr)) return;
      clearTimeout(timer);
      resolve({
        path,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
          const code = await exited;
          if (code !== 0) throw new CaptureError(`tcpdump exited ${code}: ${stderr.trim()}`);
          return readPcapUdp(readFileSync(path));
        },
      });
    });
  });
}

/** Kills every tcpdump a test left running (afterEach). */
export function killAllCaptures(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
