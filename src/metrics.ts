import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics, one registry per Herald instance so tests and replicas never share counts. */
export interface Metrics {
  readonly registry: Registry;
  readonly jobsRun: Counter<'job'>;
  readonly jobsFailed: Counter<'job' | 'reason'>;
  readonly eventLatency: Histogram<'platform' | 'kind'>;
  readonly mongoErrors: Counter<'kind'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'herald_' });
  return {
    registry,
    jobsRun: new Counter({ name: 'herald_jobs_run_total', help: 'Jobs that ran to completion', labelNames: ['job'], registers: [registry] }),
    jobsFailed: new Counter({
      name: 'herald_jobs_failed_total',
      help: 'Jobs that failed, by reason (error, invalid_payload, unknown)',
      labelNames: ['job', 'reason'],
      registers: [registry],
    }),
    eventLatency: new Histogram({
      name: 'herald_event_handling_seconds',
      help: 'Time from an inbound chat or network event to the end of its handling',
      labelNames: ['platform', 'kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    mongoErrors: new Counter({ name: 'herald_mongodb_errors_total', help: 'MongoDB command, heartbeat and ping failures', labelNames: ['kind'], registers: [registry] }),
  };
}
