import { createRequire } from 'node:module';
import type * as OpenTelemetryApi from '@opentelemetry/api';

export type { OpenTelemetryApi };

/**
 * Where @opentelemetry/api 1.x keeps what an SDK registers (its `registerGlobal`): a tracer, meter
 * or propagator provider, set on `globalThis` under this symbol. Its absence means no SDK has
 * registered anything in this process, so keyless need not even load the API.
 */
const globalRegistry = Symbol.for('opentelemetry.js.api.1');

const requireFromCore = createRequire(import.meta.url);
let api: typeof OpenTelemetryApi | undefined;
let unavailable = false;

/**
 * The OpenTelemetry API when an SDK has registered a provider in this process, else undefined —
 * then keyless records nothing and costs nothing (issue 14: "nothing happens without an SDK").
 * `@opentelemetry/api` is an optional peer: an application with an SDK has it (every SDK package
 * depends on it); keyless loads it from where @keyless/core is installed, once, at the first
 * token fetch, secret fetch or login after an SDK registered — never on the hot path.
 */
export function openTelemetry(): typeof OpenTelemetryApi | undefined {
  if (api !== undefined) return api;
  if (unavailable || (globalThis as Record<symbol, unknown>)[globalRegistry] === undefined) return undefined;
  try {
    api = requireFromCore('@opentelemetry/api') as typeof OpenTelemetryApi;
  } catch {
    // An SDK registered through a copy of the API that @keyless/core cannot resolve (an unusual
    // install): telemetry stays off rather than failing a token request.
    unavailable = true;
  }
  return api;
}
