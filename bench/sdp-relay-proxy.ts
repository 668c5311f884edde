/**
 * The benchmark's stand-in for "Kamailio with the rtpengine module": a
 * stateless SIP proxy on loopback between a caller SIPp and an agent SIPp
 * that hands each INVITE's SDP to rtpengine (ng `offer`), each 200's to it
 * (`answer`), then asks it to block the caller's DTMF (`block DTMF`), and
 * ends the call there on BYE (`delete`). The media goes through rtpengine;
 * the proxy only rewrites bodies and adds or strips its Via (RFC 3261
 * §16.11 stateless proxy: the branch is derived from the request's own).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isSipRequest, parseNameAddr, parseSipMessage, serializeSipMessage, type SipMessage } from '../media-server/embedded/sip/message/index.js';
import type { DtmfSecurity, NgClient } from '../tools/rtpengine/ng-client.js';

export interface SdpRelayProxyOptions {
  readonly ng: NgClient;
  /** Where the agent SIPp (the UAS) listens. */
  readonly agentPort: number;
  readonly dtmfSecurity: DtmfSecurity;
  /** Called with what went wrong on one message (the proxy goes on). */
  readonly onError: (err: unknown) => void;
}

export class SdpRelayProxy {
  readonly port: number;
  readonly #socket: Socket;
  readonly #options: SdpRelayProxyOptions;
  /** Calls blocked, deleted: counted for the step's report. */
  blocked = 0;
  deleted = 0;

  private constructor(socket: Socket, options: SdpRelayProxyOptions) {
    this.#socket = socket;
    this.port = socket.address().port;
    this.#options = options;
    socket.on('message', (msg, from) => void this.#relay(msg, from).catch(options.onError));
  }

  static async open(options: SdpRelayProxyOptions): Promise<SdpRelayProxy> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => socket.once('error', reject).bind(0, '127.0.0.1', () => resolve()));
    return new SdpRelayProxy(socket, options);
  }

  close(): void {
    this.#socket.close();
  }

  async #relay(datagram: Buffer, from: RemoteInfo): Promise<void> {
    const message = parseSipMessage(datagram);
    const callId = message.headers.get('Call-ID') ?? '';
    const fromTag = tagOf(message.headers.get('From'));
    const toTag = tagOf(message.headers.get('To'));
    const { ng } = this.#options;
    if (isSipRequest(message)) {
      if (message.method === 'INVITE' && message.body.length > 0) {
        message.body = Buffer.from(await ng.offer({ callId, fromTag, sdp: message.body.toString('utf8'), extra: { ICE: 'remove' } }));
      }
      const topVia = message.headers.get('Via') ?? '';
      const branch = /;branch=([^;,\s]+)/.exec(topVia)?.[1] ?? 'none';
      // Every request comes from the caller: the agent phone only answers.
      message.headers.prepend('Via', `SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bK-relay-${branch}`);
      this.#send(message, this.#options.agentPort);
      if (message.method === 'BYE') {
        await ng.delete(callId);
        this.deleted++;
      }
      return;
    }
    // A response from the agent: our Via off, on to the next one's sender.
    message.headers.removeFirst('Via');
    const next = /SIP\/2\.0\/UDP\s+[^:;\s]+:(\d+)/i.exec(message.headers.get('Via') ?? '');
    if (!next) throw new Error(`response without a Via to go back to (from port ${from.port})`);
    if (message.status === 200 && /INVITE/.test(message.headers.get('CSeq') ?? '') && message.body.length > 0) {
      message.body = Buffer.from(await ng.answer({ callId, fromTag, toTag, sdp: message.body.toString('utf8'), extra: { ICE: 'remove' } }));
      // The caller's keys: replaced towards the agent as DTMF-security says.
      await ng.blockDtmf(callId, fromTag, this.#options.dtmfSecurity);
      this.blocked++;
    }
    this.#send(message, Number(next[1]));
  }

  #send(message: SipMessage, port: number): void {
    this.#socket.send(serializeSipMessage(message), port, '127.0.0.1');
  }
}

function tagOf(nameAddr: string | undefined): string {
  return nameAddr ? (parseNameAddr(nameAddr).params.get('tag') ?? '') : '';
}
