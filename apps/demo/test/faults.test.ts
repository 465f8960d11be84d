import { fileURLToPath } from 'node:url';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackendName, loadResourceConfig, type ResourceConfig } from '../src/config.ts';
import { renderTable, writeReport } from './faults/fault-report.ts';
import { type FaultScenario, runScenario, type ScenarioSettings } from './faults/fault-scenario.ts';
import { faultScenarios } from './faults/fault-scenarios.ts';
import type { ScenarioResult } from './faults/scenario-result.ts';

// Both backends at once: one connector set per backend, both under load, both hit by each fault.
const backends: readonly BackendName[] = ['azure-identity', 'msal'];
const operationTimeoutMs = 5_000;
const reportFolder = fileURLToPath(new URL('../test-output/faults/', import.meta.url));

let stack: LocalAzure;
let resources: ResourceConfig;
const results: ScenarioResult[] = [];
const suiteStartedAt = Date.now();

beforeAll(async () => {
  const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER;
  if (!stateFolder)
    throw new Error('KEYLESS_TEST_STATE_FOLDER is not set: use the global setup of @keyless/testing');
  stack = await startLocalAzure({ stateFolder });
  Object.assign(process.env, stack.env);
  resources = loadResourceConfig();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  if (results.length === 0) return;
  process.stdout.write(
    `\nkeyless fault suite (${backends.join(' + ')})\n${renderTable(results, operationTimeoutMs)}\n\n`,
  );
  await writeReport(reportFolder, results, {
    backends,
    operationTimeoutMs,
    durationMs: Date.now() - suiteStartedAt,
  });
});

function settings(): ScenarioSettings {
  return {
    backends,
    resources,
    // Small pools whose sessions live a second, so logins (tokens, passwords) keep happening under
    // load and a fault reaches them; the demo itself keeps the connectors' defaults.
    tuning: {
      sql: {
        pool: { max: 2, maxLifetimeMs: 1_000, idleTimeoutMs: 1_000 },
        connectTimeoutMs: 3_000,
        requestTimeoutMs: 3_000,
      },
      postgres: {
        pool: { max: 2, maxLifetimeSeconds: 1, idleTimeoutMillis: 1_000, connectionTimeoutMillis: 3_000 },
        passwordRefreshIntervalMs: 1_000,
      },
    },
    secretRefreshIntervalMs: 1_000,
    load: { tickMs: 100, maxInFlightPerLane: 4, operationTimeoutMs },
    warmUpMs: 1_000,
    recoveryMs: 1_500,
    patienceMs: 20_000,
  };
}

function scenario(name: string): FaultScenario {
  const found = faultScenarios.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no scenario ${name}`);
  return found;
}

async function run(name: string): Promise<ScenarioResult> {
  const result = await runScenario(stack, scenario(name), settings());
  results.push(result);
  // Every lane of every backend ran throughout.
  expect(Object.keys(result.lanes)).toHaveLength(backends.length * 6);
  return result;
}

/** The failures, shown in full when the assertion fails (codes, lanes, phases; never a secret). */
function expectNoFailures(result: ScenarioResult): void {
  expect(result.failures).toEqual([]);
  expect(result.verdict).toBe('pass');
}

/** Failures allowed, but each a keyless error that came before the timeout; none after recovery. */
function expectTypedFailuresThenRecovery(result: ScenarioResult, onlyKind: string): void {
  const untypedOrLate = result.failures.filter(
    (failure) => !failure.typed || failure.durationMs >= result.operationTimeoutMs,
  );
  expect(untypedOrLate).toEqual([]);
  expect(result.failures.filter((failure) => failure.phase === 'recovery')).toEqual([]);
  // The other connectors did not notice.
  expect(result.failures.filter((failure) => failure.kind !== onlyKind)).toEqual([]);
  expect(result.verdict).toBe('pass');
}

describe("the demo's connectors under faults, both backends at once", () => {
  it('ride through an identity endpoint outage longer than a refresh cycle while tokens are valid', async () => {
    const result = await run('identity endpoint down');
    expectNoFailures(result);
    expect(result.evidence['outage (ms)']).toBeGreaterThan(result.evidence['refresh cycle (ms)'] ?? Infinity);
    expect(result.evidence['token validity left when the outage ends (ms)']).toBeGreaterThan(0);
    // Every token's refresh was attempted, and refused, during the outage.
    expect(result.evidence['token requests reset']).toBeGreaterThanOrEqual(
      result.evidence['tokens served (backend × scope)'] ?? Infinity,
    );
    expect(result.tokenEvents['refresh-failed']).toBeGreaterThan(0);
  });

  it('ride through a 429 storm with Retry-After while tokens near expiry, honouring Retry-After', async () => {
    const result = await run('identity endpoint 429 storm');
    expectNoFailures(result);
    const answers = result.evidence['429 answers'] ?? 0;
    expect(answers).toBeGreaterThanOrEqual(result.evidence['tokens served (backend × scope)'] ?? Infinity);
    expect(answers).toBeLessThanOrEqual(result.evidence['most 429s Retry-After allows'] ?? 0);
    // The storm ended with the tokens close to the end of their serving time, yet still valid.
    expect(result.evidence['token validity left when the storm ends (ms)']).toBeGreaterThan(0);
    expect(result.evidence['shortest wait after a 429 (ms)']).toBeGreaterThanOrEqual(
      (result.evidence['Retry-After (s)'] ?? Infinity) * 1000,
    );
  });

  it('ride through a slow identity endpoint while every token is refreshed', async () => {
    const result = await run('identity endpoint slow');
    expectNoFailures(result);
    expect(result.evidence['slow refreshes']).toBeGreaterThanOrEqual(
      result.evidence['tokens served (backend × scope)'] ?? Infinity,
    );
  });

  it('ride through Key Vault 503s on the last good secret values', async () => {
    const result = await run('Key Vault 503');
    expectNoFailures(result);
    // Per connector set, the card's secret source and the PostgreSQL password source both refreshed into the 503s.
    expect(result.evidence['503 answers']).toBeGreaterThanOrEqual(2 * backends.length);
  });

  it('wait out a PostgreSQL restart: new connections retry, only queries the restart cut off may fail (typed, in time)', async () => {
    const result = await run('PostgreSQL restarted');
    expectTypedFailuresThenRecovery(result, 'postgres-query');
  });

  it('ride through a Redis restart: ioredis reconnects and re-sends', async () => {
    const result = await run('Redis restarted');
    expectNoFailures(result);
    // Every set's connection really dropped and came back.
    expect(result.evidence['redis reconnects']).toBeGreaterThanOrEqual(backends.length);
  });

  it('ride through PostgreSQL and Redis password rotations', async () => {
    const result = await run('passwords rotated');
    expectNoFailures(result);
    expect(result.evidence['postgres passwords refused']).toBeGreaterThanOrEqual(backends.length);
    expect(result.evidence['redis passwords refreshed']).toBeGreaterThanOrEqual(backends.length);
  });

  it('ride through a 30 s SQL reconfiguration: new connections retry the transient login error', async () => {
    const result = await run('SQL reconfiguration');
    expectNoFailures(result);
    // Logins really were refused, and queries issued meanwhile waited for their answer.
    expect(result.evidence['SQL logins refused']).toBeGreaterThanOrEqual(backends.length);
    expect(result.evidence['SQL queries issued during the fault']).toBeGreaterThanOrEqual(backends.length);
    expect(result.evidence['SQL queries answered of those']).toBe(
      result.evidence['SQL queries issued during the fault'],
    );
  }, 120_000);

  it('ride through PostgreSQL absent for 60 s: new connections wait it out', async () => {
    const result = await run('PostgreSQL absent 60 s');
    expectNoFailures(result);
    expect(result.evidence['PostgreSQL queries issued during the fault']).toBeGreaterThanOrEqual(
      backends.length,
    );
    expect(result.evidence['PostgreSQL queries answered of those']).toBe(
      result.evidence['PostgreSQL queries issued during the fault'],
    );
    // They waited through refused connections, retried by the connector.
    expect(result.evidence['PostgreSQL connect retries refused']).toBeGreaterThan(0);
  }, 150_000);

  it('ride through Redis Entra tokens expiring under load: every connection re-AUTHs before the server would drop it', async () => {
    const result = await run('Redis token-expiry drops');
    expectNoFailures(result);
    // The control connection (no re-AUTH) was dropped when its token expired; no other was.
    expect(result.evidence['control connections dropped']).toBe(1);
    expect(result.evidence['redis expiry drops (control included)']).toBe(1);
    expect(result.evidence['redis re-AUTHs failed']).toBe(0);
    // Several token generations reached each set's live connection.
    expect(result.evidence['redis re-AUTHs accepted']).toBeGreaterThanOrEqual(2 * backends.length);
  });

  it('ride through tokens expiring mid-load, several generations of each', async () => {
    const result = await run('tokens expiring mid-load');
    expectNoFailures(result);
    expect(result.evidence['refreshes in the window']).toBeGreaterThanOrEqual(
      3 * (result.evidence['tokens served (backend × scope)'] ?? Infinity),
    );
    // SQL kept logging in (one-second sessions) with the newest tokens.
    expect(result.requests.sqlLoginsDuringFault).toBeGreaterThan(0);
  });
});
