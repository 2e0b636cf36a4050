import { BlockList, isIP } from 'node:net';

/**
 * ProxyTrust is the set of proxy addresses (GATEHOUSE_TRUST_PROXY: IPs or CIDR ranges) whose X-Forwarded-For header
 * the gateway believes. Empty by default: then the header is ignored and the client is the connection's peer.
 */
export class ProxyTrust {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const range = parseTrustEntry(entry);
      if (typeof range === 'string') throw new Error(range);
      if (range.prefix === undefined) this.list.addAddress(range.address, range.family);
      else this.list.addSubnet(range.address, range.prefix, range.family);
    }
    this.size = entries.length;
  }

  isTrusted(ip: string): boolean {
    const family = isIP(ip);
    return family !== 0 && this.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** Parses one GATEHOUSE_TRUST_PROXY entry (`10.0.0.1`, `10.0.0.0/8`, `fd00::/8`), or returns why it is not valid. */
export function parseTrustEntry(entry: string): { address: string; family: 'ipv4' | 'ipv6'; prefix?: number } | string {
  const [address, prefixText, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return `${JSON.stringify(entry)} is not an IP address or CIDR range (e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)`;
  const fam = family === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) return { address, family: fam };
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) return `${JSON.stringify(entry)} has a bad prefix length`;
  return { address, family: fam, prefix };
}

/**
 * The client's address. Without a trusted proxy in front it is the connection's peer. When the peer is a trusted
 * proxy, X-Forwarded-For is read from the right (each proxy appends the address it saw) and the first address that is
 * not itself a trusted proxy is the client: anything further left was written by the client and may be forged.
 */
export function clientIp(peer: string | undefined, forwardedFor: string | string[] | undefined, trust: ProxyTrust | undefined): string {
  let hop = normalizeIp(peer ?? '') ?? 'unknown';
  if (!trust || trust.size === 0 || !trust.isTrusted(hop) || forwardedFor === undefined) return hop;
  const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (let i = entries.length - 1; i >= 0; i--) {
    const ip = normalizeIp(stripPort(entries[i]));
    // A garbled entry came from the hop we trust or from beyond it: stop at the last address we can vouch for.
    if (ip === undefined) return hop;
    hop = ip;
    if (!trust.isTrusted(ip)) return ip;
  }
  return hop;
}

/**
 * The key a client address is counted under: the address itself for IPv4, its /64 network for IPv6 (one subscriber
 * usually holds a whole /64, so counting single addresses would give them 2^64 budgets).
 */
export function ipLimiterKey(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const [head, tail] = ip.split('%')[0].split('::');
  const groups = (s: string | undefined) => (s ? s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const front = groups(head);
  const back = groups(tail);
  const full = tail === undefined ? front : [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return `${full
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** An address in canonical form (IPv4-mapped IPv6 as plain IPv4), or undefined when it is not an IP address. */
export function normalizeIp(text: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  const ip = mapped ? mapped[1] : text;
  return isIP(ip) === 0 ? undefined : ip.toLowerCase();
}

/** `1.2.3.4:5678` → `1.2.3.4`, `[::1]:80` → `::1`; anything else unchanged. */
function stripPort(text: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) return bracketed[1];
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(text);
  return v4 ? v4[1] : text;
}
