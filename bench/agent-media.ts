/** What a masking relay (ours or a peer) sent during an agent-assisted step: keys leaked to the agent, and its pacing toward the caller. */
import type { UdpDatagram } from '../tools/capture/pcap-reader.js';
import { pcmuAudio, rtpTo } from '../tools/capture/rtp-capture.js';
import { DtmfDetector } from '../media-server/embedded/media/dtmf-detector.js';
import { quantile, sendIntervalDeviations } from './rtp-timing.js';
import { round } from './bench-support.js';

/** telephone-event in the benchmark's SDPs: the caller's (bench/agent-caller.xml) and the agent phone's (tests/sipp/agent-phone.xml). */
const TELEPHONE_EVENT_PAYLOAD_TYPES = new Set([96, 101]);

export interface MaskingFigures {
  /** RFC 4733 event packets (the callers' or the agent phones' telephone-event payload type) that reached the agent phones. */
  readonly eventPacketsToAgent: number;
  /** Milliseconds of DTMF tone a Q.24 detector confirms in the G.711 audio the agent phones received. */
  readonly toneLeakMs: number;
  /** Send-interval jitter p99 of the RTP the relay sent toward the callers, in ms. */
  readonly rtpJitterP99Ms: number;
}

/** `sent`: every RTP datagram the relay sent; `toAgent`: whether one went to an agent phone. */
export function maskingFigures(sent: readonly UdpDatagram[], toAgent: (d: UdpDatagram) => boolean): MaskingFigures {
  const agentSide = sent.filter(toAgent);
  const packets = rtpTo(agentSide);
  return {
    eventPacketsToAgent: packets.filter((p) => TELEPHONE_EVENT_PAYLOAD_TYPES.has(p.payloadType)).length,
    toneLeakMs: toneMs(pcmuAudio(packets)),
    rtpJitterP99Ms: round(quantile(sendIntervalDeviations(sent, (d) => !toAgent(d)), 0.99)),
  };
}

function toneMs(pcm: Int16Array): number {
  let samples = 0;
  const detector = new DtmfDetector({ onDigitEnd: (_key, start, end) => (samples += end - start) });
  detector.process(pcm);
  return samples / 8;
}
