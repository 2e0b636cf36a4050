import { Registry, collectDefaultMetrics } from 'prom-client';

/** How often the event-loop delay is sampled for nodejs_eventloop_lag_*, ms (prom-client's default). */
const EVENT_LOOP_RESOLUTION_MS = 10;

let runtime: Registry | undefined;

/**
 * runtimeRegistry holds prom-client's default metrics (process_… CPU, memory and file descriptors, nodejs_… heap,
 * event-loop lag, GC): figures of the process, not of a node, so there is one registry per process. prom-client starts
 * an event-loop delay monitor and a GC observer for each registry it fills and offers no way to stop them, so one
 * per gateway would leave both behind at every close (tests start hundreds). Created at the first scrape.
 */
export function runtimeRegistry(): Registry {
  if (!runtime) {
    runtime = new Registry();
    collectDefaultMetrics({ register: runtime, eventLoopMonitoringPrecision: EVENT_LOOP_RESOLUTION_MS });
  }
  return runtime;
}
