import type { IncomingMessage, ServerResponse } from 'node:http';

/** Answers a request with JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** What /readyz asks: every reason the node is not ready, empty when it is. */
export type ReadinessProbe = () => string[];

/** A route handler: returns true when it answered the request. */
export type Route = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

/**
 * /healthz answers 200 while the process serves; /readyz answers 200 only when the node accepts connections, else
 * 503 with the reasons (starting, draining, Redis unreachable). `warnings` are operator errors that do not stop the
 * node serving (a node id shared by several processes, login open to every origin): listed in the body either way, without changing the status,
 * since taking every process of a misconfigured id out of service would be worse than the misconfiguration.
 */
export function healthRoutes(readiness: ReadinessProbe, warnings: ReadinessProbe = () => []): Route {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return true;
    }
    if (path === '/readyz') {
      const reasons = readiness();
      const warned = warnings();
      const body = reasons.length === 0 ? { status: 'ready' } : { status: 'unavailable', reasons };
      sendJson(res, reasons.length === 0 ? 200 : 503, warned.length === 0 ? body : { ...body, warnings: warned });
      return true;
    }
    return false;
  };
}
