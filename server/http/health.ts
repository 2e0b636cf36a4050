import type { IncomingMessage, ServerResponse } from 'node:http';

/** Answers a request with JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** What /readyz asks: every reason the node is not ready, empty when it is. */
export type ReadinessProbe = () => string[];

/** A route handler: returns true when it answered the request. */
export type Route = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

/**
 * /healthz answers 200 while the process serves; /readyz answers 200 only when the node accepts connections, else
 * 503 with the reasons (starting, draining, Redis unreachable).
 */
export function healthRoutes(readiness: ReadinessProbe): Route {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return true;
    }
    if (path === '/readyz') {
      const reasons = readiness();
      sendJson(res, reasons.length === 0 ? 200 : 503, reasons.length === 0 ? { status: 'ready' } : { status: 'unavailable', reasons });
      return true;
    }
    return false;
  };
}
