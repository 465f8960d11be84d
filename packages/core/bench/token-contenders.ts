// One contender of the token benchmark, run in a child process of tokens.bench.ts so that no
// contender measures tokens another one cached: MSAL keeps its token cache in static,
// process-wide state, and both raw libraries and keyless's msal backend write to it.
import { ManagedIdentityCredential } from '@azure/identity';
import { ManagedIdentityApplication } from '@azure/msal-node';
import { createTokenProvider } from '@keyless/core';
import { metrics, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export const contenderNames = [
  'floor: Map.get + await',
  'keyless (azure-identity)',
  'keyless (msal)',
  'keyless (msal) + OpenTelemetry SDK',
  'raw ManagedIdentityCredential',
  'raw ManagedIdentityApplication',
] as const;
export type ContenderName = (typeof contenderNames)[number];

export interface Timing {
  p50: number;
  p99: number;
  mean: number;
  samples: number;
}

export interface ContenderReport {
  name: ContenderName;
  oneScope: Timing;
  thousandScopes: Timing;
  burstResource: string;
  burstFailures: number;
  fillFailures: number;
}

type GetToken = (scope: string) => Promise<unknown>;

function contender(name: ContenderName): { getToken: GetToken; close: () => Promise<void> } {
  if (name === 'floor: Map.get + await') {
    // Not a contender: the least any cache with an async API can cost here, for scale.
    const cache = new Map<string, Promise<unknown>>();
    let requests = 0;
    return {
      getToken: (scope) => {
        let cached = cache.get(scope);
        if (!cached) {
          requests += 1;
          cached = Promise.resolve({ scope, requests });
          cache.set(scope, cached);
        }
        return cached;
      },
      close: async () => {},
    };
  }
  if (name === 'keyless (msal) + OpenTelemetry SDK') {
    // What an application with tracing and metrics sees: both SDK providers registered globally
    // (a metric reader attached), so every token request records; the warm path must not pay.
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] }),
    );
    metrics.setGlobalMeterProvider(
      new MeterProvider({
        readers: [
          new PeriodicExportingMetricReader({
            exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
            exportIntervalMillis: 1000,
          }),
        ],
      }),
    );
    const provider = createTokenProvider({ backend: 'msal' });
    return { getToken: (scope) => provider.getToken(scope), close: () => provider.close() };
  }
  if (name === 'keyless (azure-identity)' || name === 'keyless (msal)') {
    const provider = createTokenProvider({ backend: name === 'keyless (msal)' ? 'msal' : 'azure-identity' });
    return { getToken: (scope) => provider.getToken(scope), close: () => provider.close() };
  }
  if (name === 'raw ManagedIdentityCredential') {
    const credential = new ManagedIdentityCredential();
    return { getToken: (scope) => credential.getToken(scope), close: async () => {} };
  }
  const application = new ManagedIdentityApplication();
  return {
    getToken: (scope) => application.acquireToken({ resource: scope.replace('/.default', '') }),
    close: async () => {},
  };
}

/**
 * Per-call time from batches: a sub-microsecond call is shorter than the timer's own jitter, so each
 * sample is the mean of `batchSize` consecutive calls; p50/p99 are over those samples. Every
 * contender is measured the same way.
 */
async function measure(
  call: (index: number) => Promise<unknown>,
  rotate: number,
  iterations: number,
  timeLimitMs: number,
): Promise<Timing> {
  const batchSize = 100;
  const warmup = Math.min(2_000, iterations);
  for (let index = 0; index < warmup; index += 1) await call(index % rotate);
  const samples: number[] = [];
  const deadline = performance.now() + timeLimitMs;
  let index = 0;
  while (index < iterations && (samples.length < 20 || performance.now() < deadline)) {
    const started = process.hrtime.bigint();
    for (let inBatch = 0; inBatch < batchSize; inBatch += 1, index += 1) await call(index % rotate);
    samples.push(Number(process.hrtime.bigint() - started) / 1000 / batchSize);
  }
  samples.sort((a, b) => a - b);
  const total = samples.reduce((sum, sample) => sum + sample, 0);
  return {
    p50: samples[Math.floor(samples.length * 0.5)] as number,
    p99: samples[Math.floor(samples.length * 0.99)] as number,
    mean: total / samples.length,
    samples: samples.length * batchSize,
  };
}

export async function runContender(
  name: ContenderName,
  settings: { iterations: number; timeLimitMs: number; scopeCount: number; burstSize: number },
): Promise<ContenderReport> {
  const { getToken, close } = contender(name);
  const id = contenderNames.indexOf(name);
  // Applications pass constant scope strings; so does the benchmark (built once, not per call).
  const scopes = Array.from(
    { length: settings.scopeCount },
    (_, index) => `https://bench-${id}-${index}.example/.default`,
  );
  let fillFailures = 0;
  const fill = async (scope: string) => {
    try {
      await getToken(scope);
    } catch {
      // The raw libraries do not retry a keep-alive connection the server just closed.
      fillFailures += 1;
      await getToken(scope);
    }
  };
  const single = scopes[0] as string;
  await fill(single);
  const oneScope = await measure(() => getToken(single), 1, settings.iterations, settings.timeLimitMs);
  for (const scope of scopes) await fill(scope);
  const thousandScopes = await measure(
    (index) => getToken(scopes[index] as string),
    settings.scopeCount,
    settings.iterations,
    settings.timeLimitMs,
  );
  const burstResource = `https://burst-${id}.example`;
  const outcomes = await Promise.allSettled(
    Array.from({ length: settings.burstSize }, () => getToken(`${burstResource}/.default`)),
  );
  await close();
  return {
    name,
    oneScope,
    thousandScopes,
    burstResource,
    burstFailures: outcomes.filter((outcome) => outcome.status === 'rejected').length,
    fillFailures,
  };
}

if (process.argv[2] === '--contender') {
  const report = await runContender(process.argv[3] as ContenderName, JSON.parse(process.argv[4] as string));
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
