import { parseNameAddr, type SipRequest, type SipResponse } from '../message/index.js';

/**
 * The dialog state of RFC 3261 §12: "the dialog ID, a local sequence
 * number, a remote sequence number, a local URI, a remote URI, remote
 * target, a boolean flag called 'secure', and a route set". Party values
 * are whole From/To header values, tags included, as they go on the wire.
 */
export interface DialogState {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** Our From in requests we send (To of the INVITE plus our tag, for a UAS). */
  readonly localParty: string;
  /** Their side: To in requests we send. */
  readonly remoteParty: string;
  /** Empty (undefined) for a UAS until it sends its first request (§12.1.1). */
  localSeq: number | undefined;
  /** Empty (undefined) for a UAC until the first request arrives (§12.1.2). */
  remoteSeq: number | undefined;
  /** The Contact URI of the peer, replaced by target refreshes (§12.2). */
  remoteTarget: string;
  /** Route header values for requests, in the order they are sent. */
  readonly routeSet: readonly string[];
  /**
   * §12.1.1, §12.1.2: the INVITE went over TLS with a SIPS Request-URI. Our
   * Contact in the dialog is then a SIPS URI (§8.1.1.8).
   */
  readonly secure: boolean;
}

/** §12.1.1 / §12.1.2: "If the request arrived [was sent] over TLS, and the Request-URI contained a SIPS URI, the 'secure' flag is set to TRUE." */
export function isSecureRequest(invite: SipRequest, overTls: boolean): boolean {
  return overTls && /^sips:/i.test(invite.uri);
}

/** The key the user agent files a dialog under: Call-ID, local tag, remote tag (§12). */
export function dialogId(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}|${localTag}|${remoteTag}`;
}

function tagOf(value: string | undefined): string {
  if (value === undefined) return '';
  return parseNameAddr(value).params.get('tag') ?? '';
}

function contactUri(message: SipRequest | SipResponse): string | undefined {
  const contact = message.headers.get('Contact');
  return contact === undefined ? undefined : parseNameAddr(contact).uri;
}

/**
 * §12.1.1, UAS: "The route set MUST be set to the list of URIs in the
 * Record-Route header field from the request, taken in order"; the remote
 * target is the request's Contact URI; the remote sequence number is the
 * request's CSeq; the local sequence number is empty; the remote tag is the
 * From tag, the local tag the one we put in our To. Throws `SipSyntaxError`
 * for a Contact that does not parse.
 */
export function uasDialogState(invite: SipRequest, localTag: string, cseq: number, overTls = false): DialogState {
  const remoteTarget = contactUri(invite);
  if (remoteTarget === undefined) throw new RangeError('an INVITE must carry a Contact (RFC 3261 §8.1.1.8)');
  return {
    callId: invite.headers.get('Call-ID') as string,
    localTag,
    remoteTag: tagOf(invite.headers.get('From')),
    localParty: `${invite.headers.get('To') as string};tag=${localTag}`,
    remoteParty: invite.headers.get('From') as string,
    localSeq: undefined,
    remoteSeq: cseq,
    remoteTarget,
    routeSet: invite.headers.getAll('Record-Route'),
    secure: isSecureRequest(invite, overTls),
  };
}

/**
 * §12.1.2, UAC: "The route set MUST be set to the list of URIs in the
 * Record-Route header field from the response, taken in reverse order";
 * the remote target is the response's Contact URI (the Request-URI when a
 * broken peer left it out); the local sequence number is the INVITE's;
 * the remote one is empty; the remote tag is the response's To tag.
 */
export function uacDialogState(invite: SipRequest, response: SipResponse, cseq: number, overTls = false): DialogState {
  const from = invite.headers.get('From') as string;
  return {
    callId: invite.headers.get('Call-ID') as string,
    localTag: tagOf(from),
    remoteTag: tagOf(response.headers.get('To')),
    localParty: from,
    remoteParty: response.headers.get('To') as string,
    localSeq: cseq,
    remoteSeq: undefined,
    remoteTarget: contactUri(response) ?? invite.uri,
    routeSet: response.headers.getAll('Record-Route').reverse(),
    secure: isSecureRequest(invite, overTls),
  };
}
