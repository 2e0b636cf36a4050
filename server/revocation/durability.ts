/**
 * The Redis settings that decide whether revocations survive (CONFIG GET; absent when CONFIG was refused, as on some
 * managed services).
 */
export interface RedisDurability {
  readonly appendonly?: string;
  readonly save?: string;
  readonly maxmemory?: string;
  readonly maxmemoryPolicy?: string;
}

/**
 * What the operator should be told at start about a Redis holding revocations: one sentence per risk, empty when none
 * is seen. Revocations are keys with a TTL; a Redis that forgets them on restart, or evicts them under memory
 * pressure (volatile-* policies evict exactly such keys), lets revoked tokens in again until they expire.
 */
export function durabilityWarnings(settings: RedisDurability): string[] {
  const warnings: string[] = [];
  if (settings.appendonly === 'no' && settings.save !== undefined && settings.save.trim() === '') {
    warnings.push(
      'Redis persists nothing (CONFIG GET appendonly is "no" and save is empty): a Redis restart forgets every '
        + 'revocation, and revoked tokens are accepted again until they expire. Set appendonly yes (or RDB save points); see SECURITY.md.',
    );
  }
  const policy = settings.maxmemoryPolicy;
  if (settings.maxmemory !== undefined && settings.maxmemory !== '0' && policy !== undefined && policy !== 'noeviction') {
    warnings.push(
      `Redis may evict keys (maxmemory ${settings.maxmemory}, maxmemory-policy ${policy}): an evicted revocation `
        + 'lets its token in again. Use maxmemory-policy noeviction for the Redis holding revocations; see SECURITY.md.',
    );
  }
  return warnings;
}
