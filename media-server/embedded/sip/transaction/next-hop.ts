import { parseSipUri } from '../message/index.js';
import type { TransportAddress, TransportProtocol } from '../transport/sip-transport.js';
import { SipUnsupportedError } from './transaction-errors.js';

/** RFC 3261 §19.1.2: 5060 for sip: over UDP and TCP, 5061 for TLS. */
const DEFAULT_PORT: Readonly<Record<TransportProtocol, number>> = { udp: 5060, tcp: 5060, tls: 5061 };

/**
 * Where a request for this SIP URI goes: RFC 3263 §4 without DNS — the
 * `maddr` or host, the port or the transport's default, UDP unless the URI
 * asks for TCP or TLS. A `sips:` URI goes over TLS (RFC 3261 §26.2.2, RFC
 * 5630 §3.1.1: `sips:…;transport=tcp` means TLS over TCP), as does
 * `transport=tls`, which RFC 5630 §3.1.3 deprecates but PBXs still write.
 * A hostname is passed to the transport as it is (the OS resolver looks it
 * up, and TLS checks the certificate against it).
 */
export function nextHopOf(uri: string): TransportAddress {
  const parsed = parseSipUri(uri);
  const transport = parsed.params.get('transport')?.toLowerCase();
  let protocol: TransportProtocol;
  if (parsed.scheme === 'sips') {
    if (transport !== undefined && transport !== 'tcp' && transport !== 'tls') {
      throw new SipUnsupportedError(`a sips: URI cannot go over transport=${transport} (RFC 5630 §3.1.1)`);
    }
    protocol = 'tls';
  } else if (transport === undefined || transport === 'udp' || transport === 'tcp' || transport === 'tls') {
    protocol = transport ?? 'udp';
  } else {
    throw new SipUnsupportedError(`transport=${transport} is not offered`);
  }
  const maddr = parsed.params.get('maddr');
  return {
    protocol,
    address: maddr ?? parsed.host,
    port: parsed.port ?? DEFAULT_PORT[protocol],
  };
}
