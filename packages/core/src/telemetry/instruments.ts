import type { Attributes, Counter, Histogram, Meter, MeterProvider, Tracer } from '@opentelemetry/api';
import { type OpenTelemetryApi, openTelemetry } from './open-telemetry-api.js';

/** The instrumentation scope: what a backend shows as the library that made the span or metric. */
export const instrumentationScope = '@keyless/core';

/** Every metric keyless records, made once per meter provider (an SDK may register late). */
export interface KeylessInstruments {
  readonly api: typeof OpenTelemetryApi;
  readonly tracer: Tracer;
  /** Token requests to the identity endpoint (not cache hits), by kind and outcome. */
  readonly tokenRequests: Counter;
  /** How long those requests took, in seconds (the OTel convention for durations). */
  readonly tokenDuration: Histogram;
  /** 429 answers from the identity endpoint. */
  readonly tokenThrottles: Counter;
  /** Key Vault secret fetches by a secret source, by outcome. */
  readonly secretRefreshes: Counter;
  /** A secret's version changed and its consumers were given the new value (a rotation handled). */
  readonly secretRotations: Counter;
  /** Logins a service refused (password or token), by service. */
  readonly authenticationFailures: Counter;
}

let made: { provider: MeterProvider; instruments: KeylessInstruments } | undefined;
let cacheHits = 0;

/**
 * Counts a token served from the cache. The hot path's only telemetry: one increment, read by an
 * observable counter when (and only when) a metric reader collects.
 */
export function countCacheHit(): void {
  cacheHits += 1;
}

/** The instruments, or undefined when no OpenTelemetry SDK is registered (then nothing is recorded). */
export function instruments(): KeylessInstruments | undefined {
  const api = openTelemetry();
  if (api === undefined) return undefined;
  const provider = api.metrics.getMeterProvider();
  if (made?.provider !== provider) made = { provider, instruments: makeInstruments(api, provider) };
  return made.instruments;
}

function makeInstruments(api: typeof OpenTelemetryApi, provider: MeterProvider): KeylessInstruments {
  const meter: Meter = provider.getMeter(instrumentationScope);
  const cacheHitCounter = meter.createObservableCounter('keyless.token.cache.hits', {
    description: 'Tokens served from the cache, without a request',
    unit: '{token}',
  });
  cacheHitCounter.addCallback((result) => result.observe(cacheHits));
  return {
    api,
    tracer: api.trace.getTracer(instrumentationScope),
    tokenRequests: meter.createCounter('keyless.token.requests', {
      description: 'Token requests to the identity endpoint (cache hits are not requests)',
      unit: '{request}',
    }),
    tokenDuration: meter.createHistogram('keyless.token.request.duration', {
      description: 'Duration of token requests to the identity endpoint',
      unit: 's',
    }),
    tokenThrottles: meter.createCounter('keyless.token.throttles', {
      description: 'Token requests the identity endpoint answered with 429',
      unit: '{request}',
    }),
    secretRefreshes: meter.createCounter('keyless.secret.refreshes', {
      description: 'Key Vault secret fetches by a keyless secret source',
      unit: '{request}',
    }),
    secretRotations: meter.createCounter('keyless.secret.rotations', {
      description: 'Secret version changes handed to consumers',
      unit: '{rotation}',
    }),
    authenticationFailures: meter.createCounter('keyless.connector.authentication.failures', {
      description: 'Logins a service refused (password or token)',
      unit: '{login}',
    }),
  };
}

/**
 * Records a finished operation as a span after the fact (start = now − duration): keyless learns
 * of a fetch when it ends, and a single-flight fetch has no one caller whose trace owns it.
 */
export function recordSpan(
  telemetry: KeylessInstruments,
  name: string,
  durationMs: number,
  attributes: Attributes,
  error?: { code: string; message: string },
): void {
  const end = Date.now();
  const span = telemetry.tracer.startSpan(name, {
    startTime: end - durationMs,
    attributes,
    kind: telemetry.api.SpanKind.CLIENT,
  });
  if (error) {
    span.setAttribute('error.type', error.code);
    // keyless's messages never hold a token or a secret (redaction.ts), so the message may go out.
    span.setStatus({ code: telemetry.api.SpanStatusCode.ERROR, message: error.message });
  }
  span.end(end);
}
