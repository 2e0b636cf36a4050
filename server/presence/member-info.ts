import { PRESENCE_INFO_MAX_BYTES, type GatehouseClaims } from '../../shared';

/**
 * The `info` other members see for a user, serialized: the verified token's `info` claim when it is a plain JSON
 * object of at most PRESENCE_INFO_MAX_BYTES (UTF-8) once serialized, else undefined. Nothing a client sends reaches
 * it: only claims the gateway verified or signed.
 */
export function memberInfoOf(claims: GatehouseClaims): string | undefined {
  const info = claims.info;
  if (info === null || typeof info !== 'object' || Array.isArray(info)) return undefined;
  let text: string;
  try {
    text = JSON.stringify(info);
  } catch {
    return undefined;
  }
  return Buffer.byteLength(text, 'utf8') <= PRESENCE_INFO_MAX_BYTES ? text : undefined;
}

/** The serialized info back as the object the wire carries. */
export function parseMemberInfo(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
