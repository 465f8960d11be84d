// An OpenTelemetry SDK registered globally with in-memory exporters, for tests of what keyless
// records (issue 14): spans as the SDK finished them, metric points collected on demand, and the
// whole export as text for the canary check. A subpath of its own (`@keyless/testing/open-telemetry`)
// so that test files which do not need the SDK never load it.
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A reader the test collects from when it asks. */
class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface OpenTelemetryCapture {
  /** Spans finished since the start (or the last `reset()`). */
  spans(): ReadableSpan[];
  /** The data points of metric `name`, as `{ attributes, value }` (a histogram's value is its count). */
  points(name: string): Promise<{ attributes: Record<string, unknown>; value: number }[]>;
  /** The sum of `points(name)`'s values whose attributes include `where`. */
  total(name: string, where?: Record<string, unknown>): Promise<number>;
  /** Everything exported (span names, attributes, statuses, events; all metrics) as JSON text. */
  exportedText(): Promise<string>;
  reset(): void;
  /** Unregisters the SDK (the global API goes back to no-op). */
  stop(): void;
}

export function captureOpenTelemetry(): OpenTelemetryCapture {
  const exporter = new InMemorySpanExporter();
  const reader = new CollectingReader();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  const collect = async () => (await reader.collect()).resourceMetrics;
  const points = async (name: string) => {
    const all = (await collect()).scopeMetrics.flatMap((scope) => scope.metrics);
    const metric = all.find((each) => each.descriptor.name === name);
    return (metric?.dataPoints ?? []).map((point) => ({
      attributes: point.attributes as Record<string, unknown>,
      value: typeof point.value === 'number' ? point.value : (point.value as { count: number }).count,
    }));
  };
  return {
    spans: () => exporter.getFinishedSpans(),
    points,
    total: async (name, where = {}) =>
      (await points(name))
        .filter((point) => Object.entries(where).every(([key, value]) => point.attributes[key] === value))
        .reduce((sum, point) => sum + point.value, 0),
    exportedText: async () =>
      JSON.stringify({
        spans: exporter.getFinishedSpans().map((span) => ({
          name: span.name,
          attributes: span.attributes,
          status: span.status,
          events: span.events,
        })),
        metrics: await collect(),
      }),
    reset: () => exporter.reset(),
    stop: () => {
      trace.disable();
      metrics.disable();
    },
  };
}
