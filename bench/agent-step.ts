import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { projectRoot } from '../app/project-root.js';
import type { UdpDatagram } from '../tools/capture/pcap-reader.js';
import { startCapture } from '../tools/capture/tcpdump.js';
import { writeDtmfUlaw } from '../tools/dtmf-audio.js';
import { runSipp, startSipp, type SippPortSequence } from '../tools/sipp/sipp-process.js';
import { maskingFigures } from './agent-media.js';
import { api, countApprovedAmong, log, RAMP_RATE, round, RTP_MAX, RTP_MIN, sleep, VISA } from './bench-support.js';
import { cpuPercent, cpuSample } from './process-usage.js';
import { quantile } from './rtp-timing.js';
import type { MediaServerKind, SystemUnderTest } from './system-under-test.js';

export interface AgentStep {
  readonly mediaServer: MediaServerKind;
  readonly calls: number;
  readonly approved: number;
  readonly failureRate: number;
  /**
   * Masked digit on the agent's WebSocket minus the capture time of that
   * key's first RFC 4733 packet into the IVR: the embedded server reports a
   * key when it starts, so this is the delay we add (the end packet comes
   * after the report and says nothing); FreeSWITCH reports it on its end
   * packet, so its figure includes the key's duration.
   */
  readonly keyToAgentP50Ms: number | null;
  readonly keyToAgentP99Ms: number | null;
  readonly keyToAgentMaxMs: number | null;
  readonly keysMatched: number;
  /** CPU of the system (`SystemUnderTest.pids`) while the step's calls ran, per call (percent of one core). */
  readonly cpuPct: number;
  readonly cpuPerCallPct: number;
  readonly eventPacketsToAgent: number;
  readonly toneLeakMs: number;
  /** Send-interval jitter p99 of what the system sent toward the callers. */
  readonly rtpJitterP99Ms: number;
}

/**
 * Agent-assisted calls: a session per call on the API, a SIPp agent phone,
 * SIPp callers transferred to pay-<code> keying a card as RFC 4733 events;
 * the agent console's WebSocket stream timed against a capture of the keys.
 */
export async function agentAssistedStep(sut: SystemUnderTest, ports: SippPortSequence, agentPorts: SippPortSequence, calls: number, work: string): Promise<AgentStep> {
  const sys = sut.system;
  const dir = mkdtempSync(join(work, 'agent-'));
  const agentPort = await agentPorts.next();
  const voice = join(dir, 'agent.ulaw');
  writeDtmfUlaw(voice, [{ waitMs: 1000 }]);
  const phone = startSipp(['-sf', join(projectRoot(), 'tests/sipp/agent-phone.xml'), '-i', '127.0.0.1', '-p', String(agentPort), '-mp', String(agentPort + 2), '-m', String(calls), '-key', 'voice', `${voice},-1,0`]);
  const codes = new Map<string, string>();
  for (let i = 0; i < calls; i++) {
    const session = await api<{ id: string; code: string }>(sys, 'POST', '/api/v1/sessions', { amount: 4250, currency: 'EUR', reference: `BENCH-${calls}-${i}`, agentUri: `sip:agent@127.0.0.1:${agentPort}` });
    codes.set(`pay-${session.code}`, session.id);
  }
  const frames = new Map<string, number[]>();
  const socket = new WebSocket(`${sys.httpUrl.replace(/^http/, 'ws')}/api/v1/stream`, { headers: { authorization: `Bearer ${sys.adminKey}` } });
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { sessionId?: string; event?: { type: string } };
    if (frame.event?.type !== 'digit-entered' || !frame.sessionId) return;
    const list = frames.get(frame.sessionId) ?? [];
    list.push(Date.now());
    frames.set(frame.sessionId, list);
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  log(`agent-assisted ${calls}: ${codes.size} sessions, stream open`);
  const toIvr = await startCapture({ filter: `udp and dst host 127.0.0.1 and dst portrange ${RTP_MIN}-${RTP_MAX}` });
  const fromIvr = await startCapture({ filter: `udp and src host 127.0.0.1 and src portrange ${RTP_MIN}-${RTP_MAX}` });
  const csv = join(dir, 'callers.csv');
  writeFileSync(csv, `SEQUENTIAL\n${[...codes.keys()].map((code) => `${code};${VISA};1230;123;`).join('\n')}\n`);
  const logFile = join(dir, 'callers.log');
  const port = await ports.next();
  const cpuFrom = cpuSample(sut.pids);
  await runSipp({
    args: [
      `127.0.0.1:${sys.sipPort}`, '-sf', join(projectRoot(), 'bench/agent-caller.xml'), '-inf', csv,
      '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2),
      '-m', String(calls), '-l', String(calls), '-r', String(RAMP_RATE), '-d', '4000', '-trace_logs', '-log_file', logFile,
    ],
    timeoutMs: (calls / RAMP_RATE) * 1000 + 120_000,
  });
  const cpuPct = cpuPercent(cpuFrom, cpuSample(sut.pids));
  log(`agent-assisted ${calls}: callers done`);
  // The agent phones' calls end with the callers' (the IVR hangs them up).
  await Promise.race([phone.done, sleep(10_000).then(() => phone.child.kill('SIGKILL'))]);
  const intoIvr = await toIvr.stop();
  const sent = await fromIvr.stop();
  socket.close();

  // Which IVR RTP port each session's caller sent to (logged by the caller scenario).
  const portOf = new Map<string, number>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const match = /(pay-\d+) (\d+)/.exec(line);
    const sessionId = match && codes.get(match[1] as string);
    if (sessionId) portOf.set(sessionId, Number(match[2]));
  }
  const latencies: number[] = [];
  for (const [sessionId, ivrPort] of portOf) {
    const starts = keyStartTimes(intoIvr.filter((d) => d.destinationPort === ivrPort));
    const seen = frames.get(sessionId) ?? [];
    for (let i = 0; i < Math.min(starts.length, seen.length); i++) latencies.push((seen[i] as number) - (starts[i] as number));
  }
  latencies.sort((a, b) => a - b);
  const approved = countApprovedAmong(sys.dataDir, [...codes.values()]);
  const agentMediaPorts = { from: agentPort + 2, to: agentPort + 2 + 4 * calls + 8 };
  return {
    mediaServer: sut.kind,
    calls,
    approved,
    failureRate: (calls - approved) / calls,
    keyToAgentP50Ms: latencies.length ? round(quantile(latencies, 0.5)) : null,
    keyToAgentP99Ms: latencies.length ? round(quantile(latencies, 0.99)) : null,
    keyToAgentMaxMs: latencies.length ? round(latencies.at(-1) as number) : null,
    keysMatched: latencies.length,
    cpuPct,
    cpuPerCallPct: cpuPct / calls,
    ...maskingFigures(sent, (d) => d.destinationPort >= agentMediaPorts.from && d.destinationPort <= agentMediaPorts.to),
  };
}

/**
 * The capture time of each RFC 4733 key press's first packet (one press: its
 * SSRC and RTP timestamp), in order; only events that ended (E bit) count —
 * SIPp's 4-byte filler of another payload type never does.
 */
function keyStartTimes(datagrams: readonly UdpDatagram[]): number[] {
  const events = new Map<string, { start: number; ended: boolean }>();
  for (const d of datagrams) {
    const p = d.payload;
    if (p.length < 16 || p[0]! >> 6 !== 2) continue;
    const payloadType = p[1]! & 0x7f;
    const headerLength = 12 + 4 * (p[0]! & 0x0f);
    if (payloadType === 0 || payloadType === 8 || p.length - headerLength !== 4) continue;
    const key = `${payloadType}:${p.readUInt32BE(8)}:${p.readUInt32BE(4)}`;
    const event = events.get(key) ?? { start: d.timeMs, ended: false };
    if ((p[headerLength + 1]! & 0x80) !== 0) event.ended = true;
    events.set(key, event);
  }
  return [...events.values()].filter((e) => e.ended).map((e) => e.start).sort((a, b) => a - b);
}
