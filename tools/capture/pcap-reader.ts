/**
 * Just enough of libpcap's file format (pcap-savefile(5)) to pull UDP
 * payloads out of captures: the classic 24-byte global header in either
 * byte order, micro- or nanosecond timestamps, and link types Ethernet (1,
 * with 802.1Q tags), raw IPv4 (101, 228) and Linux cooked (113). IPv4 only;
 * fragments are rejected rather than reassembled.
 */

export interface UdpDatagram {
  /** Capture time in ms since the epoch (fractional). */
  readonly timeMs: number;
  readonly source: string;
  readonly sourcePort: number;
  readonly destination: string;
  readonly destinationPort: number;
  readonly payload: Buffer;
}

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;

function ipv4(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

export function readPcapUdp(file: Buffer): UdpDatagram[] {
  if (file.length < 24) throw new Error('pcap: shorter than the global header');
  const magic = file.readUInt32LE(0);
  let littleEndian: boolean;
  let nanoseconds: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    littleEndian = true;
    nanoseconds = magic === 0xa1b23c4d;
  } else if (file.readUInt32BE(0) === 0xa1b2c3d4 || file.readUInt32BE(0) === 0xa1b23c4d) {
    littleEndian = false;
    nanoseconds = file.readUInt32BE(0) === 0xa1b23c4d;
  } else {
    throw new Error(`pcap: unknown magic 0x${magic.toString(16)}`);
  }
  const u32 = (offset: number): number => (littleEndian ? file.readUInt32LE(offset) : file.readUInt32BE(offset));
  const linkType = u32(20) & 0x0fffffff;
  const datagrams: UdpDatagram[] = [];
  let offset = 24;
  while (offset < file.length) {
    if (offset + 16 > file.length) throw new Error(`pcap: truncated record header at ${offset}`);
    const seconds = u32(offset);
    const fraction = u32(offset + 4);
    const capturedLength = u32(offset + 8);
    const originalLength = u32(offset + 12);
    const start = offset + 16;
    if (start + capturedLength > file.length) throw new Error(`pcap: truncated record at ${offset}`);
    if (capturedLength !== originalLength) throw new Error(`pcap: record at ${offset} was cut to the snapshot length`);
    const frame = file.subarray(start, start + capturedLength);
    offset = start + capturedLength;

    let ip: number;
    if (linkType === LINKTYPE_ETHERNET) {
      ip = 14;
      let etherType = frame.readUInt16BE(12);
      while (etherType === 0x8100) {
        etherType = frame.readUInt16BE(ip + 2);
        ip += 4;
      }
      if (etherType !== 0x0800) continue;
    } else if (linkType === LINKTYPE_LINUX_SLL) {
      if (frame.readUInt16BE(14) !== 0x0800) continue;
      ip = 16;
    } else if (linkType === LINKTYPE_RAW || linkType === LINKTYPE_IPV4) {
      ip = 0;
    } else {
      throw new Error(`pcap: link type ${linkType} not supported`);
    }
    if ((frame[ip] as number) >> 4 !== 4) continue;
    const headerLength = ((frame[ip] as number) & 0x0f) * 4;
    const totalLength = frame.readUInt16BE(ip + 2);
    const fragment = frame.readUInt16BE(ip + 6);
    if ((fragment & 0x3fff) !== 0) throw new Error(`pcap: IPv4 fragment at ${offset} not supported`);
    if (frame[ip + 9] !== 17) continue;
    const udp = ip + headerLength;
    const udpLength = frame.readUInt16BE(udp + 4);
    if (udpLength < 8 || udp + udpLength > ip + totalLength || ip + totalLength > frame.length) {
      throw new Error(`pcap: inconsistent IPv4/UDP lengths in record ending at ${offset}`);
    }
    datagrams.push({
      timeMs: seconds * 1000 + fraction / (nanoseconds ? 1e6 : 1e3),
      source: ipv4(frame, ip + 12),
      sourcePort: frame.readUInt16BE(udp),
      destination: ipv4(frame, ip + 16),
      destinationPort: frame.readUInt16BE(udp + 2),
      payload: frame.subarray(udp + 8, udp + udpLength),
    });
  }
  return datagrams;
}
