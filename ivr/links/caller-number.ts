/**
 * The caller's number from the From URI of their call: the user part of a
 * sip:/sips: URI (RFC 3261 §19.1.1, escapes decoded) or a tel: URI's number
 * (RFC 3966 §3), visual separators dropped; undefined when it holds no number.
 * Whether it is a valid mobile is phone-number.ts's to say.
 */
export function callerNumber(fromUri: string): string | undefined {
  const uri = fromUri.trim().replace(/^<|>$/g, '');
  const user = /^sips?:([^@;?]+)@/i.exec(uri)?.[1] ?? /^tel:([^;?]+)/i.exec(uri)?.[1];
  if (!user) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(user);
  } catch {
    return undefined;
  }
  const number = decoded.replace(/[\s().-]/g, '');
  return /^\+?\d{6,15}$/.test(number) ? number : undefined;
}
