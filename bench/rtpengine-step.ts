import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../app/project-root.js';
import { startCapture } from '../tools/capture/tcpdump.js';
import { writeDtmfUlaw } from '../tools/dtmf-audio.js';
import type { DtmfSecurity } from '../tools/rtpengine/ng-client.js';
import type { RunningRtpengine } from '../tools/rtpengine/rtpengine-process.js';
import { runSipp, startSipp, type SippPortSequence } from '../tools/sipp/sipp-process.js';
import { maskingFigures } from './agent-media.js';
import { log, RAMP_RATE, sippCounts, sleep, VISA } from './bench-support.js';
import type { PeerStep } from './peer-results.js';
import { cpuPercent, cpuSample } from './process-usage.js';
import { SdpRelayProxy } from './sdp-relay-proxy.js';

/** rtpengine's RTP ports during the benchmark (away from ours and SIPp's). */
export const RTPENGINE_RTP_MIN = 56000;
export const RTPENGINE_RTP_MAX = 59998;

/**
 * The agent-assisted step through rtpengine: the same SIPp caller keying a
 * card as RFC 4733 events and the same SIPp agent phone, with rtpengine
 * relaying the media between them and blocking the caller's DTMF (set up by
 * `SdpRelayProxy` over ng). No IVR, no store, no PSP, no prompts: this is
 * the cost of the masking relay alone.
 */
export async function rtpengineStep(rtpengine: RunningRtpengine, ports: SippPortSequence, agentPorts: SippPortSequence, calls: number, work: string, dtmfSecurity: DtmfSecurity): Promise<PeerStep> {
  const dir = mkdtempSync(join(work, 'rtpengine-'));
  const agentPort = await agentPorts.next();
  const voice = join(dir, 'agent.ulaw');
  writeDtmfUlaw(voice, [{ waitMs: 1000 }]);
  const phone = startSipp(['-sf', join(projectRoot(), 'tests/sipp/agent-phone.xml'), '-i', '127.0.0.1', '-p', String(agentPort), '-mp', String(agentPort + 2), '-m', String(calls), '-key', 'voice', `${voice},-1,0`]);
  const errors: unknown[] = [];
  const proxy = await SdpRelayProxy.open({ ng: rtpengine.ng, agentPort, dtmfSecurity, onError: (err) => errors.push(err) });
  const fromRelay = await startCapture({ filter: `udp and src host 127.0.0.1 and src portrange ${RTPENGINE_RTP_MIN}-${RTPENGINE_RTP_MAX}` });
  const csv = join(dir, 'callers.csv');
  writeFileSync(csv, `SEQUENTIAL\n${Array.from({ length: calls }, () => `agent;${VISA};1230;123;`).join('\n')}\n`);
  const port = await ports.next();
  const cpuFrom = cpuSample([rtpengine.pid]);
  const run = await runSipp({
    args: [
      `127.0.0.1:${proxy.port}`, '-sf', join(projectRoot(), 'bench/agent-caller.xml'), '-inf', csv,
      '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2),
      '-m', String(calls), '-l', String(calls), '-r', String(RAMP_RATE), '-d', '4000',
    ],
    timeoutMs: (calls / RAMP_RATE) * 1000 + 120_000,
  });
  const cpuPct = cpuPercent(cpuFrom, cpuSample([rtpengine.pid]));
  await Promise.race([phone.done, sleep(10_000).then(() => phone.child.kill('SIGKILL'))]);
  const sent = await fromRelay.stop();
  proxy.close();
  if (errors.length > 0) log(`rtpengine ${calls}: ${errors.length} proxy errors, first: ${String(errors[0])}`);
  const completed = Math.min(sippCounts(run).succeeded, proxy.blocked);
  const agentMediaPorts = { from: agentPort + 2, to: agentPort + 2 + 4 * calls + 8 };
  return {
    calls,
    completed,
    failed: calls - completed,
    failureRate: (calls - completed) / calls,
    cpuPct,
    cpuPerCallPct: cpuPct / calls,
    ...maskingFigures(sent, (d) => d.destinationPort >= agentMediaPorts.from && d.destinationPort <= agentMediaPorts.to),
  };
}
