import Srf from 'drachtio-srf';

/**
 * drachtio-srf's own SipError (lib/sip_error.js: `status`, `reason`), which
 * createUAC and createUAS reject with; its bundled types do not declare the
 * static getter, so it is typed here.
 */
export const SipError = (Srf as unknown as { SipError: new (status: number, reason?: string) => Error & { readonly status: number } }).SipError;
