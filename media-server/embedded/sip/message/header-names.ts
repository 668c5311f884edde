/**
 * Compact header forms (RFC 3261 §7.3.3 and §20, RFC 3515 r, RFC 3892 b,
 * RFC 4028 x, RFC 6665 o and u), expanded to the full name on parse.
 */
export const COMPACT_HEADER_FORMS: Readonly<Record<string, string>> = {
  i: 'Call-ID',
  m: 'Contact',
  e: 'Content-Encoding',
  l: 'Content-Length',
  c: 'Content-Type',
  f: 'From',
  s: 'Subject',
  k: 'Supported',
  t: 'To',
  v: 'Via',
  o: 'Event',
  r: 'Refer-To',
  b: 'Referred-By',
  x: 'Session-Expires',
  u: 'Allow-Events',
};

const KNOWN_NAMES = [
  'Accept',
  'Accept-Encoding',
  'Accept-Language',
  'Alert-Info',
  'Allow',
  'Allow-Events',
  'Authentication-Info',
  'Authorization',
  'Call-ID',
  'Call-Info',
  'Contact',
  'Content-Disposition',
  'Content-Encoding',
  'Content-Language',
  'Content-Length',
  'Content-Type',
  'CSeq',
  'Date',
  'Diversion',
  'Error-Info',
  'Event',
  'Expires',
  'From',
  'History-Info',
  'In-Reply-To',
  'Max-Forwards',
  'MIME-Version',
  'Min-Expires',
  'Min-SE',
  'Organization',
  'P-Asserted-Identity',
  'P-Preferred-Identity',
  'Path',
  'Priority',
  'Privacy',
  'Proxy-Authenticate',
  'Proxy-Authorization',
  'Proxy-Require',
  'RAck',
  'Reason',
  'Record-Route',
  'Refer-To',
  'Referred-By',
  'Remote-Party-ID',
  'Replaces',
  'Reply-To',
  'Require',
  'Retry-After',
  'Route',
  'RSeq',
  'Server',
  'Service-Route',
  'Session-Expires',
  'Subject',
  'Subscription-State',
  'Supported',
  'Timestamp',
  'To',
  'Unsupported',
  'User-Agent',
  'Via',
  'Warning',
  'WWW-Authenticate',
] as const;

const CANONICAL = new Map<string, string>();
for (const name of KNOWN_NAMES) CANONICAL.set(name.toLowerCase(), name);
for (const [compact, name] of Object.entries(COMPACT_HEADER_FORMS)) CANONICAL.set(compact, name);

/**
 * Headers whose value is a comma-separated list (RFC 3261 §7.3.1: several
 * header lines of such a field may be combined into one, and one line may
 * be split into several). Keys are lower-case full names.
 * Authorization and the challenges are not lists: their commas separate
 * parameters of one value.
 */
const LIST_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'alert-info',
  'allow',
  'allow-events',
  'call-info',
  'contact',
  'content-encoding',
  'content-language',
  'diversion',
  'error-info',
  'history-info',
  'in-reply-to',
  'p-asserted-identity',
  'p-preferred-identity',
  'path',
  'proxy-require',
  'reason',
  'record-route',
  'require',
  'route',
  'service-route',
  'supported',
  'unsupported',
  'via',
  'warning',
]);

/**
 * The name a header is stored and written under: the full form for a
 * compact one, RFC spelling for known headers (`call-id` → `Call-ID`),
 * otherwise the name as received (extension headers keep their case).
 */
export function canonicalHeaderName(name: string): string {
  return CANONICAL.get(name.toLowerCase()) ?? name;
}

/** Lookup key of a header name: lower-case full name. */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  return lower.length === 1 ? (COMPACT_HEADER_FORMS[lower]?.toLowerCase() ?? lower) : lower;
}

/** True for a header whose value is a comma-separated list; takes any spelling or compact form. */
export function isListHeader(name: string): boolean {
  return LIST_HEADERS.has(headerKey(name));
}
