import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

/** The deployment under test cannot be reached, or refuses us: said once, before any scenario runs. */
export class QaUnreachableError extends Error {
  override readonly name = 'QaUnreachableError';
}

/** A fetch or socket failure in a few words: "connect ECONNREFUSED 127.0.0.1:8080", "no answer in 5 s". */
function why(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer in ${timeoutMs / 1000} s`;
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Sends one SIP OPTIONS over UDP (SIPp's transport here) and waits for any
 * response: RFC 3261 §11 has a server answer OPTIONS as it would an INVITE,
 * so a 200, a 403 (outside SIP_ALLOW) or a 405 all show the target is there.
 */
export async function checkSipTarget(target: { host: string; port: number; localIp: string }, timeoutMs = 3000): Promise<void> {
  const socket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
  const where = `${target.host}:${target.port}`;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new QaUnreachableError(`no SIP answer from ${where} to OPTIONS over UDP in ${timeoutMs / 1000} s`)), timeoutMs);
      const settle = (err?: Error): void => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      socket.on('error', (err: NodeJS.ErrnoException) => {
        const reason = err.code === 'ECONNREFUSED' ? 'port unreachable (nothing listens there over UDP)' : err.message;
        settle(new QaUnreachableError(`cannot reach the SIP target ${where}: ${reason}`));
      });
      socket.on('message', (msg) => {
        if (msg.subarray(0, 8).toString('latin1') === 'SIP/2.0 ') settle();
      });
      // Connected, so an ICMP port unreachable comes back as ECONNREFUSED rather than as silence.
      socket.connect(target.port, target.host, () => {
        const { port } = socket.address();
        const host = target.localIp.includes(':') ? `[${target.localIp}]` : target.localIp;
        const uri = `sip:${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
        const tag = randomBytes(6).toString('hex');
        const request = [
          `OPTIONS ${uri} SIP/2.0`,
          `Via: SIP/2.0/UDP ${host}:${port};branch=z9hG4bK-qa-${tag};rport`,
          'Max-Forwards: 70',
          `From: <sip:qa@${host}:${port}>;tag=${tag}`,
          `To: <${uri}>`,
          `Call-ID: qa-preflight-${tag}@${host}`,
          'CSeq: 1 OPTIONS',
          'Accept: application/sdp',
          'User-Agent: payment-ivr-qa',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
        socket.send(request);
      });
    });
  } finally {
    socket.close();
  }
}

/** Asks the payments API one question with the key: the API must answer, and accept the key. */
export async function checkApi(api: { url: string; key: string }, timeoutMs = 5000): Promise<void> {
  let status: number;
  let body: unknown;
  try {
    const res = await fetch(`${api.url}/api/v1/payments?reference=qa-preflight`, {
      headers: { authorization: `Bearer ${api.key}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = res.status;
    body = await res.json().catch(() => undefined);
  } catch (err) {
    throw new QaUnreachableError(`cannot reach the API at ${api.url}: ${why(err, timeoutMs)}`);
  }
  if (status === 401 || status === 403) throw new QaUnreachableError(`the API at ${api.url} refused the API key (HTTP ${status}): give --api-key or $QA_API_KEY, or --no-api`);
  const payments = (body as { payments?: unknown } | undefined)?.payments;
  if (status !== 200 || !Array.isArray(payments)) {
    throw new QaUnreachableError(`the API at ${api.url} answered GET /api/v1/payments with HTTP ${status}${status === 200 ? ' but no payments list' : ''}: is --api the agent-bridge address?`);
  }
}
