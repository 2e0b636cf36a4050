import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { CloseCode } from '../../shared';
import { clientIp, ipLimiterKey, type ProxyTrust } from '../http/client-ip';
import { remoteAddressOf, type ServerSocket } from '../sc/facade';
import type { FloodSettings } from './settings';


/** Why a connection was refused: the close code it gets. */
export type ConnectionRefusal = typeof CloseCode.TooManyConnections | typeof CloseCode.HandshakeRateLimited;

/**
 * ConnectionLimits admits or refuses each new connection by its client address (IPv6: its /64; behind a trusted
 * proxy, the X-Forwarded-For address): at most `maxConnectionsPerIp` open at once and `handshakeRatePerIp` opened a
 * second, on this node. A refused connection is not counted as open, so a flood cannot push its own count up.
 */
export class ConnectionLimits {
  private readonly open = new Map<string, number>();
  private readonly rate?: RateLimiterMemory;

  constructor(private readonly settings: FloodSettings, private readonly trust: ProxyTrust) {
    if (settings.handshakeRatePerIp > 0) {
      this.rate = new RateLimiterMemory({ keyPrefix: 'gatehouse-handshake', points: settings.handshakeRatePerIp, duration: 1 });
    }
  }

  /**
   * Decides on a new socket: `{release}` when admitted (call it when its connection closes), else `{refusal}`, the
   * close code to refuse it with. `key` is the client address's key either way, for the log.
   */
  async admit(socket: ServerSocket): Promise<({ refusal: ConnectionRefusal } | { release: () => void }) & { key: string }> {
    const key = ipLimiterKey(clientIp(remoteAddressOf(socket), socket.request?.headers['x-forwarded-for'], this.trust));
    if (this.rate) {
      try {
        await this.rate.consume(key);
      } catch (err) {
        if (err instanceof RateLimiterRes) return { key, refusal: CloseCode.HandshakeRateLimited };
        throw err;
      }
    }
    const max = this.settings.maxConnectionsPerIp;
    const n = this.open.get(key) ?? 0;
    if (max > 0 && n >= max) return { key, refusal: CloseCode.TooManyConnections };
    this.open.set(key, n + 1);
    let released = false;
    return {
      key,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.open.get(key) ?? 1) - 1;
        if (left <= 0) this.open.delete(key);
        else this.open.set(key, left);
      },
    };
  }
}
