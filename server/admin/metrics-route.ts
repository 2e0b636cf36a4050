import type { IncomingMessage } from 'node:http';
import { sendJson, type Route } from '../http/health';
import type { MetricsExposition } from '../observability/node-metrics';

/**
 * GET /metrics in the Prometheus text format. With `isAuthorized` (GATEHOUSE_METRICS_KEY) a request without the key
 * gets 401 UnauthorizedError and no figures.
 */
export function metricsRoute(metrics: MetricsExposition, isAuthorized?: (req: IncomingMessage) => boolean): Route {
  return async (req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    if (isAuthorized && !isAuthorized(req)) {
      sendJson(res, 401, { error: { name: 'UnauthorizedError', message: 'Authorization: Bearer <metrics key> required' } }, { 'www-authenticate': 'Bearer' });
      return true;
    }
    const { contentType, body } = await metrics.expose();
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(body);
    return true;
  };
}
