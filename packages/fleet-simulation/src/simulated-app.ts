import type { ProcessClock } from './process-clock.js';
import type { WorkloadSettings } from './scenario.js';
import type { SeededRandom } from './seeded-random.js';
import type { SimulatedImds } from './simulated-imds.js';
import type { SimulatedVault } from './simulated-vault.js';
import type { WorkloadStep } from './workload.js';

/** Operations that failed because no token or no valid secret was to be had, by what they were for. */
export interface FailedOperations {
  blob: number;
  keyVault: number;
  sql: number;
  postgres: number;
  redis: number;
}

export function noFailures(): FailedOperations {
  return { blob: 0, keyVault: 0, sql: 0, postgres: 0, redis: 0 };
}

/** The servers' side of the two passwords: what PostgreSQL and Redis accept right now. */
export interface PasswordServers {
  postgres: string;
  redis: string;
}

export const secretNames = {
  appSetting: 'app-setting',
  postgresPassword: 'postgres-password',
  redisPassword: 'redis-password',
} as const;

export const scopes = {
  storage: 'https://storage.azure.com/.default',
  vault: 'https://vault.azure.net/.default',
  database: 'https://database.windows.net/.default',
} as const;

/** What one process is given: its clock, its VM's IMDS, the shared vault and servers, a tally. */
export interface AppSurroundings {
  clock: ProcessClock;
  workload: WorkloadSettings;
  imds: SimulatedImds;
  vault: SimulatedVault;
  servers: PasswordServers;
  failures: FailedOperations;
  random: SeededRandom;
}

/**
 * One app process with all five connectors: Blob (storage token), Key Vault (an app setting),
 * SQL (database token per new connection), PostgreSQL and Redis (passwords from Key Vault).
 */
export interface SimulatedApp {
  /** Start-up: read the app setting and the Redis password, connect to Redis. Rejects when it fails. */
  start(): Promise<void>;
  /** One workload step: token and secret use, with failures counted (see FailureAccounting). */
  serve(step: WorkloadStep): void;
  /** The Redis connection dropped and reconnects (authenticating again). */
  reconnectRedis(): void;
  stop(): Promise<void>;
}
