import { formatHost, isHeaderText, isParamText, isPassword, isUser, splitHostPort } from './sip-grammar.js';
import { SipSyntaxError } from './sip-syntax-error.js';

/**
 * A SIP or SIPS URI (RFC 3261 §19.1). Parts are kept as written, escapes
 * included (`%23` stays `%23`): comparing URIs (§19.1.4) is the caller's
 * business.
 */
export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string | undefined;
  /** RFC 3261 §19.1.1 calls it NOT RECOMMENDED; parsed so such a URI is not refused. */
  password?: string | undefined;
  /** Hostname, IPv4 address, or IPv6 address without its brackets. */
  host: string;
  port?: number | undefined;
  /** uri-parameters (`;transport=tcp`, `;lr`): names lower-cased, flags `null`. */
  params: Map<string, string | null>;
  /** headers (`?Subject=x&Priority=urgent`), in order. */
  headers: Map<string, string>;
}

function fail(message: string): never {
  throw new SipSyntaxError('uri', message);
}

/**
 * Parses `sip:` / `sips:` URIs (RFC 3261 §25.1 SIP-URI, SIPS-URI). The
 * userinfo ends at the first "@": no other part may hold an unescaped one.
 */
export function parseSipUri(text: string): SipUri {
  const colon = text.indexOf(':');
  const scheme = text.slice(0, colon).toLowerCase();
  if (colon === -1 || (scheme !== 'sip' && scheme !== 'sips')) fail('scheme is not sip or sips');
  let rest = text.slice(colon + 1);

  let user: string | undefined;
  let password: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    const pw = userinfo.indexOf(':');
    user = pw === -1 ? userinfo : userinfo.slice(0, pw);
    if (!isUser(user)) fail('invalid user part');
    if (pw !== -1) {
      password = userinfo.slice(pw + 1);
      if (!isPassword(password)) fail('invalid password part');
    }
    rest = rest.slice(at + 1);
  }

  const question = rest.indexOf('?');
  const headerText = question === -1 ? undefined : rest.slice(question + 1);
  if (question !== -1) rest = rest.slice(0, question);
  // An IPv6 reference holds colons but no semicolons: the first ";" ends the hostport.
  const semicolon = rest.indexOf(';');
  const hostport = splitHostPort(semicolon === -1 ? rest : rest.slice(0, semicolon));
  if (!hostport) fail('invalid host or port');

  const params = new Map<string, string | null>();
  if (semicolon !== -1) {
    for (const param of rest.slice(semicolon + 1).split(';')) {
      const eq = param.indexOf('=');
      const name = eq === -1 ? param : param.slice(0, eq);
      const value = eq === -1 ? null : param.slice(eq + 1);
      if (!isParamText(name) || (value !== null && !isParamText(value))) fail('invalid uri parameter');
      params.set(name.toLowerCase(), value);
    }
  }

  const headers = new Map<string, string>();
  if (headerText !== undefined) {
    for (const header of headerText.split('&')) {
      const eq = header.indexOf('=');
      if (eq === -1) fail('uri header without "="');
      const name = header.slice(0, eq);
      const value = header.slice(eq + 1);
      if (!isHeaderText(name) || !isHeaderText(value, true)) fail('invalid uri header');
      headers.set(name, value);
    }
  }

  return { scheme, user, password, host: hostport.host, port: hostport.port, params, headers };
}

export function formatSipUri(uri: SipUri): string {
  let out = `${uri.scheme}:`;
  if (uri.user !== undefined) out += uri.password === undefined ? `${uri.user}@` : `${uri.user}:${uri.password}@`;
  out += formatHost(uri.host);
  if (uri.port !== undefined) out += `:${uri.port}`;
  for (const [name, value] of uri.params) out += value === null ? `;${name}` : `;${name}=${value}`;
  let separator = '?';
  for (const [name, value] of uri.headers) {
    out += `${separator}${name}=${value}`;
    separator = '&';
  }
  return out;
}
