import { BlockList, isIP } from 'node:net';

/** A SIP_ALLOW entry that is not an address or CIDR. */
export class InvalidCidrError extends Error {
  override readonly name = 'InvalidCidrError';
}

/**
 * Which sources may talk SIP to us (SIP_ALLOW). Built on node's BlockList,
 * which matches IPv4 and IPv6 subnets, including IPv4-mapped IPv6 sources.
 */
export class SourceFilter {
  readonly #list = new BlockList();
  readonly cidrs: readonly string[];

  /** Default: loopback only. */
  constructor(cidrs: readonly string[] = ['127.0.0.0/8', '::1/128']) {
    this.cidrs = cidrs;
    for (const cidr of cidrs) {
      const [address, bits, extra] = cidr.trim().split('/');
      const family = address ? isIP(address) : 0;
      const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
      if (!address || family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
        throw new InvalidCidrError(`not an address or CIDR: ${cidr}`);
      }
      this.#list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
  }

  allows(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return this.#list.check(mapped[1]!, 'ipv4');
    return this.#list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}
