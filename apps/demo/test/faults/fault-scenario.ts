import type { LocalAzure } from '@keyless/local-azure';
import type { BackendName, ResourceConfig } from '../../src/config.ts';
import { type ConnectorSet, type ConnectorTuning, createConnectorSet } from '../../src/connectors.ts';
import { LoadGenerator, type LoadOptions } from './load-generator.ts';
import { loadLanes } from './load-lanes.ts';
import { type ScenarioResult, summarize } from './scenario-result.ts';
import { type ServedToken, servedTokens } from './served-tokens.ts';
import { TokenTimeline } from './token-timeline.ts';

/**
 * `zero failures`: Azure's guidance says an app should ride through this fault unnoticed.
 * `typed errors in time`: operations may fail while it lasts, but only with a keyless error that
 * came before the operation timeout, and everything works again once it is over.
 */
export type Expectation = 'zero failures' | 'typed errors in time';

/** What a fault can see and act on while the load runs. */
export interface FaultContext {
  readonly stack: LocalAzure;
  readonly connectorSets: readonly ConnectorSet[];
  readonly load: LoadGenerator;
  readonly tokens: TokenTimeline;
  /** Every (backend, scope) token cached when the fault starts: all three scopes of every set. */
  readonly tokensAtFaultStart: readonly ServedToken[];
  readonly connectorEvents: ConnectorEventCounts;
  /** Evidence that the fault reached the code under test, kept in the report and asserted on. */
  note(name: string, value: number): void;
}

export interface FaultScenario {
  readonly name: string;
  readonly expectation: Expectation;
  /** One line for the README: what the fault does. */
  readonly description: string;
  /** Lifetime of the tokens the identity endpoint mints during the scenario. */
  readonly tokenLifetimeSeconds: number;
  /** Overrides the suite's connector tuning for this scenario (a function when it needs the stack). */
  readonly tuning?: ConnectorTuning | ((stack: LocalAzure) => ConnectorTuning);
  /**
   * Overrides the suite's operation timeout: for a fault the connectors are documented to wait out
   * (a server away for a minute), an operation may take that long, and only a longer wait is a hang.
   */
  readonly operationTimeoutMs?: number;
  /** Starts the fault, lets it last, ends it. The load runs throughout. */
  inject(context: FaultContext): Promise<void>;
  /** Besides every lane succeeding again: what "recovered" means (e.g. every token refreshed since). */
  recovered?(context: FaultContext, faultEndedAt: number): boolean;
}

export interface ConnectorEventCounts {
  postgresPasswordRefused: number;
  redisPasswordRefreshed: number;
  warnings: number;
}

export interface ScenarioSettings {
  backends: readonly BackendName[];
  resources: ResourceConfig;
  tuning: ConnectorTuning;
  load: LoadOptions;
  secretRefreshIntervalMs: number;
  /** At least this long, and until every lane has succeeded once. */
  warmUpMs: number;
  /** At least this long after the fault, and until every lane has succeeded since it ended. */
  recoveryMs: number;
  /** A guard against a scenario that never warms up or recovers; not a speed assertion. */
  patienceMs: number;
}

/**
 * One scenario: fresh connector sets (one per backend, each the demo's composition: one token
 * provider for all five connectors) under a steady load; warm-up, fault, recovery; counter deltas
 * of the identity endpoint and the Key Vault emulator. Fresh sets make every scenario start from
 * cold caches, so the token refresh points are known from the scenario's own events.
 */
export async function runScenario(
  stack: LocalAzure,
  scenario: FaultScenario,
  settings: ScenarioSettings,
): Promise<ScenarioResult> {
  const keyVault = stack.keyVault;
  if (!keyVault) throw new Error('the fault suite needs the Key Vault emulator');
  stack.identity.faults.clear();
  keyVault.faults.clear();
  stack.identity.setTokenLifetime(scenario.tokenLifetimeSeconds);
  const counters = () => ({
    identity: stack.identity.counters.tokenRequests,
    keyVault: keyVault.counters.requests,
    sqlLogins: stack.sql?.counters.logins ?? 0,
  });
  const before = counters();
  const evidence: Record<string, number> = {};
  const connectorEvents: ConnectorEventCounts = {
    postgresPasswordRefused: 0,
    redisPasswordRefreshed: 0,
    warnings: 0,
  };
  const tokens = new TokenTimeline();
  const connectorSets: ConnectorSet[] = [];
  const loadOptions: LoadOptions = {
    ...settings.load,
    operationTimeoutMs: scenario.operationTimeoutMs ?? settings.load.operationTimeoutMs,
  };
  const startedAt = Date.now();
  let load: LoadGenerator | undefined;
  let faultStartedAt = startedAt;
  let faultEndedAt = startedAt;
  let atFaultStart = before;
  let atFaultEnd = before;
  try {
    for (const backend of settings.backends) {
      const set = await createConnectorSet(
        settings.resources,
        backend,
        {
          onPostgresPasswordRefused: () => {
            connectorEvents.postgresPasswordRefused += 1;
          },
          onRedisPasswordRefreshed: () => {
            connectorEvents.redisPasswordRefreshed += 1;
          },
          // Expected during restarts (idle sessions ended, reconnects); counted, never printed.
          onWarning: () => {
            connectorEvents.warnings += 1;
          },
        },
        mergeTuning(
          settings.tuning,
          typeof scenario.tuning === 'function' ? scenario.tuning(stack) : scenario.tuning,
        ),
      );
      connectorSets.push(set);
      tokens.watch(set.tokenProvider);
    }
    const running = new LoadGenerator(
      connectorSets.flatMap((set) =>
        loadLanes(set, settings.resources, { secretRefreshIntervalMs: settings.secretRefreshIntervalMs }),
      ),
      loadOptions,
    );
    load = running;
    running.start();
    await waitUntil(
      () => Date.now() - startedAt >= settings.warmUpMs && running.everyLaneSucceededSince(startedAt),
      `${scenario.name}: every lane answering before the fault`,
      settings.patienceMs,
    );

    const context: FaultContext = {
      stack,
      connectorSets,
      load: running,
      tokens,
      tokensAtFaultStart: await cachedTokens(connectorSets, scenario.tokenLifetimeSeconds, stack, tokens),
      connectorEvents,
      note: (name, value) => {
        evidence[name] = value;
      },
    };
    running.phase = 'fault';
    faultStartedAt = Date.now();
    atFaultStart = counters();
    await scenario.inject(context);
    faultEndedAt = Date.now();
    atFaultEnd = counters();
    running.phase = 'recovery';
    await waitUntil(
      () =>
        Date.now() - faultEndedAt >= settings.recoveryMs &&
        running.everyLaneSucceededSince(faultEndedAt) &&
        (scenario.recovered?.(context, faultEndedAt) ?? true),
      `${scenario.name}: recovery`,
      settings.patienceMs,
    );
  } finally {
    stack.identity.faults.clear();
    keyVault.faults.clear();
    await load?.stop();
    tokens.stop();
    await Promise.allSettled(connectorSets.map((set) => set.close()));
  }
  const after = counters();
  if (!load) throw new Error(`${scenario.name}: the load never started`);
  return summarize({
    scenario,
    backends: settings.backends,
    operationTimeoutMs: loadOptions.operationTimeoutMs,
    outcomes: load.outcomes,
    evidence: { ...evidence, ...connectorEventEvidence(connectorEvents) },
    tokenEvents: tokens.events,
    faultStartedAt,
    requests: {
      identity: after.identity - before.identity,
      keyVault: after.keyVault - before.keyVault,
      identityDuringFault: atFaultEnd.identity - atFaultStart.identity,
      keyVaultDuringFault: atFaultEnd.keyVault - atFaultStart.keyVault,
      sqlLoginsDuringFault: atFaultEnd.sqlLogins - atFaultStart.sqlLogins,
    },
    timing: {
      warmUpMs: faultStartedAt - startedAt,
      faultMs: faultEndedAt - faultStartedAt,
      recoveryMs: Date.now() - faultEndedAt,
    },
  });
}

/** The tokens the connectors use, read without adding a cache entry of our own (checked). */
async function cachedTokens(
  connectorSets: readonly ConnectorSet[],
  lifetimeSeconds: number,
  stack: LocalAzure,
  tokens: TokenTimeline,
): Promise<ServedToken[]> {
  // A background refresh may run meanwhile; a first token ('acquired') would be an entry of ours.
  const acquiredBefore = tokens.count('acquired');
  const served = await servedTokens(connectorSets, lifetimeSeconds, stack.identity.tenantId);
  if (tokens.count('acquired') !== acquiredBefore)
    throw new Error("reading the cached tokens made a new cache entry: not the connectors' tokens");
  return served;
}

function mergeTuning(base: ConnectorTuning, override: ConnectorTuning | undefined): ConnectorTuning {
  if (!override) return base;
  return {
    sql: { ...base.sql, ...override.sql, pool: { ...base.sql?.pool, ...override.sql?.pool } },
    postgres: {
      ...base.postgres,
      ...override.postgres,
      pool: { ...base.postgres?.pool, ...override.postgres?.pool },
    },
    redis: { ...base.redis, ...override.redis },
  };
}

function connectorEventEvidence(events: ConnectorEventCounts): Record<string, number> {
  return {
    'postgres passwords refused': events.postgresPasswordRefused,
    'redis passwords refreshed': events.redisPasswordRefreshed,
    'connection warnings': events.warnings,
  };
}

/** Whether every connector set has had a successful operation of `kind` that started at or after `since`. */
export function laneSucceededSince(context: FaultContext, kind: string, since: number): boolean {
  return context.connectorSets.every((set) =>
    context.load.outcomes.some(
      (outcome) =>
        outcome.kind === kind &&
        outcome.backend === set.backend &&
        outcome.failure === undefined &&
        outcome.startedAt >= since,
    ),
  );
}

/** Polls `condition`; a guard against hanging, not a speed assertion. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, milliseconds)));
}
