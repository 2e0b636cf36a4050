/**
 * The channel check the peer servers do, as a SocketCluster or Socket.IO user would write it: the token's `channels`
 * claim is a list of names, each exact or ending in `*` (a prefix). Gatehouse grants the same channels with the same
 * patterns, so every system decides the same thing.
 */
export function granted(claims: unknown, channel: unknown): boolean {
  const channels = (claims as { channels?: unknown } | null)?.channels;
  if (!Array.isArray(channels) || typeof channel !== 'string') return false;
  for (const pattern of channels) {
    if (typeof pattern !== 'string') continue;
    if (pattern === channel) return true;
    if (pattern.endsWith('*') && channel.startsWith(pattern.slice(0, -1))) return true;
  }
  return false;
}

/** The port, secret and key form a peer server takes from the environment. */
export function peerSettings(): { port: number; secret: string } {
  const port = Number(process.env.BENCH_PORT);
  const secret = process.env.BENCH_SECRET ?? '';
  if (!Number.isInteger(port) || secret.length < 32) throw new Error('BENCH_PORT and BENCH_SECRET (32+ chars) are required');
  return { port, secret };
}
