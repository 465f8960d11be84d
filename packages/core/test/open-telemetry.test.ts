// OpenTelemetry through @opentelemetry/api (an optional peer), with the SDK's in-memory exporters:
// spans for token requests (not cache hits), metrics by outcome, throttles, and cache hits through
// an observable counter; never a token in anything exported (issue 14). Without an SDK nothing is
// recorded and the API is not even loaded (what-loads-when.test.ts).
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationFailedError, ThrottledError, type TokenProvider } from '../src/index.js';
import { ManualClock } from '../src/manual-clock.js';
import { createTokenProviderWithInternals } from '../src/testing.js';
import { FakeBackend } from './support/fake-backend.js';

const scope = 'https://storage.azure.com/.default';
const minute = 60_000;

/** A reader the test collects from on demand. */
class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const spans = new InMemorySpanExporter();
const reader = new CollectingReader();
const providers: TokenProvider[] = [];
const issued: string[] = [];

function setup() {
  const clock = new ManualClock();
  const backend = new FakeBackend(() => clock.now());
  const provider = createTokenProviderWithInternals(
    { environment: {} },
    { clock, backend, random: () => 0.5, baseRetryDelayMs: 1000 },
  );
  providers.push(provider);
  return { clock, backend, provider };
}

async function collected(): Promise<ResourceMetrics> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics;
}

/** The data points of metric `name` as `{ attributes, value }` (sums) or `{ attributes, count }` (histograms). */
async function points(name: string) {
  const all = (await collected()).scopeMetrics.flatMap((scopeMetrics) => scopeMetrics.metrics);
  const metric = all.find((each) => each.descriptor.name === name);
  return (metric?.dataPoints ?? []).map((point) => ({
    attributes: point.attributes,
    value: typeof point.value === 'number' ? point.value : (point.value as { count: number }).count,
  }));
}

const sumOf = (list: { value: number }[]) => list.reduce((total, each) => total + each.value, 0);

beforeAll(() => {
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
  );
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
});

afterEach(async () => {
  for (const provider of providers.splice(0)) {
    await provider.close();
  }
  spans.reset();
});

afterAll(() => {
  trace.disable();
  metrics.disable();
});

describe('OpenTelemetry, with an SDK registered', () => {
  it('a token request is a span with the scope, backend and identity; cache hits are not', async () => {
    const { provider } = setup();
    const token = await provider.getToken(scope);
    issued.push(token.token);
    for (let call = 0; call < 5; call += 1) await provider.getToken(scope);
    const finished = spans.getFinishedSpans();
    expect(finished.map((span) => span.name)).toEqual(['keyless.token.acquire']);
    expect(finished[0]?.instrumentationScope.name).toBe('@keyless/core');
    expect(finished[0]?.attributes).toMatchObject({
      'keyless.token.scope': scope,
      'keyless.token.backend': 'msal',
      'keyless.identity': 'system-assigned',
    });
  });

  it('counts requests by outcome, their duration, and cache hits (observable counter)', async () => {
    const hitsBefore = sumOf(await points('keyless.token.cache.hits'));
    const requestsBefore = sumOf(await points('keyless.token.requests'));
    const { provider } = setup();
    issued.push((await provider.getToken(scope)).token);
    for (let call = 0; call < 7; call += 1) await provider.getToken(scope);
    expect(sumOf(await points('keyless.token.cache.hits')) - hitsBefore).toBe(7);
    const requests = await points('keyless.token.requests');
    expect(sumOf(requests) - requestsBefore).toBe(1);
    expect(requests.every((each) => each.attributes['keyless.outcome'] === 'success')).toBe(true);
    expect((await points('keyless.token.request.duration')).length).toBeGreaterThan(0);
  });

  it('a background refresh is a refresh span', async () => {
    const { clock, provider } = setup();
    issued.push((await provider.getToken(scope)).token);
    await clock.advance(56 * minute);
    expect(spans.getFinishedSpans().map((span) => span.name)).toEqual([
      'keyless.token.acquire',
      'keyless.token.refresh',
    ]);
  });

  it('a refused request: an error span with error.type, and a failure count', async () => {
    const { backend, provider } = setup();
    backend.script({
      kind: 'error',
      error: new AuthenticationFailedError('the endpoint refused the identity'),
    });
    await expect(provider.getToken(scope)).rejects.toBeInstanceOf(AuthenticationFailedError);
    const [span] = spans.getFinishedSpans();
    expect(span?.status).toMatchObject({ code: 2 /* SpanStatusCode.ERROR */ });
    expect(span?.attributes['error.type']).toBe('authentication-failed');
    const failures = (await points('keyless.token.requests')).filter(
      (each) => each.attributes['keyless.outcome'] === 'failure',
    );
    expect(failures.map((each) => each.attributes['error.type'])).toContain('authentication-failed');
  });

  it('a 429 is counted as a throttle', async () => {
    const before = sumOf(await points('keyless.token.throttles'));
    const { backend, clock, provider } = setup();
    backend.script(
      { kind: 'error', error: new ThrottledError('429', { status: 429, retryAfterMs: 3000 }) },
      { kind: 'token', lifetimeMs: 60 * minute },
    );
    const token = provider.getToken(scope);
    await clock.advance(5000);
    issued.push((await token).token);
    expect(sumOf(await points('keyless.token.throttles')) - before).toBe(1);
  });

  it('exports no token: not in any span or metric', async () => {
    const { provider } = setup();
    issued.push((await provider.getToken(scope)).token);
    const exported = JSON.stringify({
      spans: spans.getFinishedSpans().map((span) => ({
        name: span.name,
        attributes: span.attributes,
        status: span.status,
        events: span.events,
      })),
      metrics: await collected(),
    });
    expect(issued.length).toBeGreaterThan(3);
    for (const token of issued) expect(exported).not.toContain(token);
    expect(exported).toContain('keyless.token');
  });
});
