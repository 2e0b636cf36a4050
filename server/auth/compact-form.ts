import { isUtf8 } from 'node:buffer';

/** The JOSE header fields the gateway reads itself; the rest is jsonwebtoken's. */
export interface JoseHeader {
  readonly kid?: unknown;
  readonly crit?: unknown;
  readonly cty?: unknown;
}

/**
 * The JOSE header of a compact token, read the way jsonwebtoken (jws) reads it: base64 of the first segment, decoded
 * as latin1, then JSON. Undefined when that is not a JSON object. Cheaper than jwt.decode, which parses the payload too.
 */
export function headerOf(signed: string): JoseHeader | undefined {
  const dot = signed.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(signed.slice(0, dot), 'base64').toString('latin1'));
    return typeof header === 'object' && header !== null && !Array.isArray(header) ? header : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a token's form is refused before its signature is checked, or undefined. jsonwebtoken lets each of these through:
 * - `crit` names extensions the recipient must understand (RFC 7515 §4.1.11); the gateway understands none, so a
 *   token carrying one (such as `b64: false`, which changes what the signature covers) must be refused, not read as
 *   if the extension were absent;
 * - `cty: "JWT"` announces a nested token, which the gateway never unwraps;
 * - a signature whose last base64url character carries stray low bits decodes to the same bytes as the canonical one,
 *   and RS/ES verification decodes leniently, so one token would have several spellings;
 * - claims that are not UTF-8 (RFC 7519 §7.2) decode with U+FFFD in place of the bad bytes, so different byte
 *   strings from an issuer would read as the same `sub`.
 */
export function compactFormProblem(signed: string, header: JoseHeader): string | undefined {
  if (header.crit !== undefined) return 'crit header: the gateway understands no JWS extension';
  if (typeof header.cty === 'string' && header.cty.toUpperCase() === 'JWT') return 'nested tokens (cty JWT) are not accepted';
  const first = signed.indexOf('.');
  const last = signed.lastIndexOf('.');
  if (first === last) return undefined; // not three segments: jsonwebtoken names it malformed
  const signature = signed.slice(last + 1);
  if (Buffer.from(signature, 'base64url').toString('base64url') !== signature) return 'signature is not canonical base64url';
  if (!isUtf8(Buffer.from(signed.slice(first + 1, last), 'base64url'))) return 'claims are not UTF-8';
  return undefined;
}
