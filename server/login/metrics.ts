import type { MetricsRegistry } from '../observability/node-metrics';
import type { LoginService } from './login-service';

/** Adds login attempts by outcome to the node's metrics, read at scrape; a node without login lists the series empty. */
export function registerLoginMetrics(metrics: MetricsRegistry, service: LoginService | undefined): void {
  metrics.totals({ name: 'gatehouse_logins_total', help: 'Login attempts by outcome', label: 'outcome' }, () =>
    service ? Object.entries(service.outcomes) : [],
  );
}
