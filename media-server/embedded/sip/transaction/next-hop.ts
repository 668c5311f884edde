import { parseSipUri } from '../message/index.js';
import type { TransportAddress } from '../transport/sip-transport.js';
import { SipUnsupportedError } from './transaction-errors.js';

const DEFAULT_SIP_PORT = 5060;

/**
 * Where a request for this SIP URI goes: RFC 3263 §4 without DNS — the
 * `maddr` or host, the port or 5060, UDP unless `transport=tcp`. A hostname
 * is passed to the transport as it is (the OS resolver looks it up).
 * `sips:` and TLS are not offered by this stack.
 */
export function nextHopOf(uri: string): TransportAddress {
  const parsed = parseSipUri(uri);
  if (parsed.scheme === 'sips') throw new SipUnsupportedError('sips: URIs need TLS, which this stack does not offer');
  const transport = parsed.params.get('transport')?.toLowerCase();
  if (transport !== undefined && transport !== 'udp' && transport !== 'tcp') {
    throw new SipUnsupportedError(`transport=${transport} is not offered`);
  }
  const maddr = parsed.params.get('maddr');
  return {
    protocol: transport === 'tcp' ? 'tcp' : 'udp',
    address: maddr ?? parsed.host,
    port: parsed.port ?? DEFAULT_SIP_PORT,
  };
}
