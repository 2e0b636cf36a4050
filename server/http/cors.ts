import type { IncomingMessage, ServerResponse } from 'node:http';
import { normalizeOrigin } from '../node/settings';

/** How long a browser may cache a preflight answer, seconds. */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * CORS for one route, for the origins in GATEHOUSE_ORIGINS only: an allowed origin gets
 * `Access-Control-Allow-Origin` (and a preflight answer naming the method and `Content-Type`); any other origin, or
 * any origin when no list is configured, gets no CORS header at all, so the browser keeps the answer from the page.
 * No credentials are allowed: the login body carries everything.
 */
export class Cors {
  private readonly allowed: ReadonlySet<string>;

  constructor(
    origins: readonly string[] | undefined,
    private readonly methods: readonly string[],
  ) {
    this.allowed = new Set(origins ?? []);
  }

  /** The request's Origin when it is allowed, normalized as in the list; else undefined. */
  allowedOrigin(req: IncomingMessage): string | undefined {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || this.allowed.size === 0) return undefined;
    try {
      const normalized = normalizeOrigin(origin);
      return this.allowed.has(normalized) ? origin : undefined;
    } catch {
      return undefined;
    }
  }

  /** Headers to add to an actual (non-preflight) answer. */
  headers(req: IncomingMessage): Record<string, string> {
    const origin = this.allowedOrigin(req);
    // Vary either way: a cache must not hand one origin's answer to another.
    return origin ? { 'access-control-allow-origin': origin, vary: 'Origin' } : { vary: 'Origin' };
  }

  /** Answers an OPTIONS preflight: 204, with CORS headers only for an allowed origin asking for an allowed method. */
  preflight(req: IncomingMessage, res: ServerResponse): void {
    const headers: Record<string, string> = { vary: 'Origin', 'content-length': '0' };
    const origin = this.allowedOrigin(req);
    const method = req.headers['access-control-request-method'];
    if (origin && typeof method === 'string' && this.methods.includes(method.toUpperCase())) {
      Object.assign(headers, {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': this.methods.join(', '),
        'access-control-allow-headers': 'Content-Type',
        'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
      });
    }
    res.writeHead(204, headers);
    res.end();
  }
}
