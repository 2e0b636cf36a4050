import type { Route } from '../http/health';
import type { GatewayMetrics } from './metrics';

/** GET /metrics in the Prometheus text format. */
export function metricsRoute(metrics: GatewayMetrics): Route {
  return async (req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    const { contentType, body } = await metrics.expose();
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(body);
    return true;
  };
}
