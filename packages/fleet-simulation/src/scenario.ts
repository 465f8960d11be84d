export const second = 1000;
export const minute = 60 * second;
export const hour = 60 * minute;

/** Everything the simulation assumes, in one place; docs/scale.md explains each number. */
export interface FleetScenario {
  /** Seeds every random draw: the same scenario gives the same table. */
  seed: number;
  /** Virtual time of t = 0 (a Monday, 00:00 UTC, so the daily curve lines up with the clock). */
  start: number;
  durationMs: number;
  vmCount: number;
  instancesPerVm: number;
  workload: WorkloadSettings;
  events: ScenarioEvents;
  imds: ImdsSettings;
  vault: VaultSettings;
}

export interface WorkloadSettings {
  /** Requests per second per instance, averaged over a day. */
  meanRequestsPerSecond: number;
  /** The daily swing: the rate goes from mean × (1 − a) to mean × (1 + a). */
  dailyAmplitude: number;
  peakHourUtc: number;
  /**
   * The workload is applied per instance in steps of this length, each at the instance's own phase;
   * the connections a step opens are opened at its start.
   */
  stepMs: number;
  /** New pooled connections per minute at the mean rate (idle connections time out, bursts open new ones). */
  postgresConnectionsPerMinute: number;
  sqlConnectionsPerMinute: number;
  /** Connections the first burst after start opens per pool (the demo's pool max). */
  poolMax: number;
  /** Mean time between Redis reconnects of one instance (network blips, cache patching). */
  redisReconnectMeanMs: number;
  /** A process whose start-up failed is restarted by its supervisor after this long. */
  restartAfterFailedStartMs: number;
}

export interface ScenarioEvents {
  /** Every instance starts within `spreadMs` after `at`. */
  deploy: { at: number; spreadMs: number };
  /** Every instance restarts (stop, then start) within `spreadMs` after `at`. */
  restart: { at: number; spreadMs: number };
  /** The PostgreSQL and Redis passwords change (server and Key Vault secret at the same instant). */
  rotationAt: number;
  /** The first `vmCount` VMs' IMDS answer `status` for `durationMs` (410: IMDS is being upgraded). */
  imdsOutage: { at: number; durationMs: number; vmCount: number; status: number };
}

export interface ImdsSettings {
  maxRequestsPerSecond: number;
  maxConcurrentRequests: number;
  /** Latency of an accepted token request, drawn log-uniformly from this range. */
  latencyMs: [number, number];
  /** A throttled or failed request is answered this fast. */
  rejectionLatencyMs: number;
  tokenLifetimeMs: number;
  /**
   * IMDS keeps one token per identity and resource and hands it out again until it has less than
   * this left; then it mints a new one. Set to undefined to mint on every request.
   */
  reuseTokensUntilRemainingMs: number | undefined;
  /** Retry-After on a 429, in seconds; undefined: IMDS sends none (its docs say back off exponentially). */
  retryAfterSeconds: number | undefined;
}

export interface VaultSettings {
  /** Key Vault's limit for secret GETs: transactions per 10 s per vault (answers are instant). */
  maxGetsPerTenSeconds: number;
}

export function defaultScenario(): FleetScenario {
  return {
    seed: 7,
    start: Date.UTC(2026, 0, 5),
    durationMs: 48 * hour,
    vmCount: 100,
    instancesPerVm: 10,
    workload: {
      meanRequestsPerSecond: 5,
      dailyAmplitude: 0.6,
      peakHourUtc: 15,
      stepMs: 5 * minute,
      postgresConnectionsPerMinute: 1,
      sqlConnectionsPerMinute: 0.2,
      poolMax: 4,
      redisReconnectMeanMs: 6 * hour,
      restartAfterFailedStartMs: 10 * second,
    },
    events: {
      deploy: { at: 0, spreadMs: minute },
      restart: { at: 24 * hour, spreadMs: 10 * second },
      rotationAt: 30 * hour,
      imdsOutage: { at: 40 * hour, durationMs: 70 * second, vmCount: 10, status: 410 },
    },
    imds: {
      maxRequestsPerSecond: 20,
      maxConcurrentRequests: 5,
      latencyMs: [20, 200],
      rejectionLatencyMs: 2,
      tokenLifetimeMs: 24 * hour,
      reuseTokensUntilRemainingMs: 10 * minute,
      retryAfterSeconds: undefined,
    },
    vault: {
      maxGetsPerTenSeconds: 4000,
    },
  };
}
