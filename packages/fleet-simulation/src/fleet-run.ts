import { type AppFactory, InstanceSlot, type StartStatistics } from './instance-slot.js';
import { KeylessApp } from './keyless-app.js';
import { RawApp } from './raw-app.js';
import type { FleetScenario } from './scenario.js';
import { SeededRandom } from './seeded-random.js';
import { type FailedOperations, noFailures, type PasswordServers, secretNames } from './simulated-app.js';
import { type ImdsStatistics, SimulatedImds } from './simulated-imds.js';
import { SimulatedVault, type VaultStatistics } from './simulated-vault.js';
import type { PhaseOf } from './traffic-tally.js';
import { VirtualTime } from './virtual-time.js';

export const fleetKinds = ['keyless', 'raw'] as const;
export type FleetKind = (typeof fleetKinds)[number];

export interface FleetRun {
  kind: FleetKind;
  /** One entry per VM. */
  imds: ImdsStatistics[];
  vault: VaultStatistics;
  failures: FailedOperations;
  starts: StartStatistics;
  /** Simulation events processed (for the run's own statistics). */
  events: number;
}

const appFactories: Record<FleetKind, AppFactory> = {
  keyless: (surroundings) => new KeylessApp(surroundings),
  raw: (surroundings) => new RawApp(surroundings),
};

// Separate random streams, so both fleets see the same start times, workload and latencies.
const streams = { schedule: 1, imds: 1_000, workload: 100_000, redis: 200_000, process: 300_000 };

/** Runs one fleet (keyless, or the raw libraries' glue) through the whole scenario. */
export async function runFleet(kind: FleetKind, scenario: FleetScenario): Promise<FleetRun> {
  const { seed, start, events } = scenario;
  const time = new VirtualTime(start);
  const scheduleRandom = new SeededRandom(seed, streams.schedule);
  const phaseOf = phaseClock(scenario);
  const vault = new SimulatedVault(scenario.vault, time, phaseOf);
  const servers: PasswordServers = {
    postgres: 'simulated-postgres-password-1',
    redis: 'simulated-redis-password-1',
  };
  vault.setSecret(secretNames.appSetting, 'simulated-app-setting');
  vault.setSecret(secretNames.postgresPassword, servers.postgres);
  vault.setSecret(secretNames.redisPassword, servers.redis);
  const imdsList = Array.from(
    { length: scenario.vmCount },
    (_, vm) =>
      new SimulatedImds(`vm${vm}`, scenario.imds, time, new SeededRandom(seed, streams.imds + vm), phaseOf),
  );
  const failures = noFailures();
  const starts: StartStatistics = { attempts: 0, failed: 0 };
  const slots: InstanceSlot[] = [];
  for (let vm = 0; vm < scenario.vmCount; vm += 1) {
    for (let local = 0; local < scenario.instancesPerVm; local += 1) {
      const index = slots.length;
      slots.push(
        new InstanceSlot({
          time,
          scenario,
          createApp: appFactories[kind],
          surroundings: {
            workload: scenario.workload,
            imds: imdsList[vm] as SimulatedImds,
            vault,
            servers,
            failures,
            random: new SeededRandom(seed, streams.process + index),
          },
          workloadRandom: new SeededRandom(seed, streams.workload + index),
          redisRandom: new SeededRandom(seed, streams.redis + index),
          starts,
        }),
      );
    }
  }

  for (const slot of slots) {
    time.schedule(start + events.deploy.at + scheduleRandom.uniform(0, events.deploy.spreadMs), () =>
      slot.start(),
    );
    time.schedule(start + events.restart.at + scheduleRandom.uniform(0, events.restart.spreadMs), () =>
      slot.restart(),
    );
  }
  time.schedule(start + events.rotationAt, () => {
    servers.postgres = 'simulated-postgres-password-2';
    servers.redis = 'simulated-redis-password-2';
    vault.setSecret(secretNames.postgresPassword, servers.postgres);
    vault.setSecret(secretNames.redisPassword, servers.redis);
  });
  const outage = events.imdsOutage;
  const affected = imdsList.slice(0, outage.vmCount);
  time.schedule(start + outage.at, () => {
    for (const imds of affected) imds.setOutage(outage.status);
  });
  time.schedule(start + outage.at + outage.durationMs, () => {
    for (const imds of affected) imds.setOutage(undefined);
  });

  await time.runUntil(start + scenario.durationMs);
  await Promise.all(slots.map((slot) => slot.stop()));
  return {
    kind,
    imds: imdsList.map((imds) => imds.snapshot()),
    vault: vault.snapshot(),
    failures,
    starts,
    events: time.firedEvents,
  };
}

/** The mass starts and the ten minutes after them are reported apart from the steady state. */
export const startWindowMs = 10 * 60_000;

function phaseClock(scenario: FleetScenario): PhaseOf {
  const { start, events } = scenario;
  const deployEnd = start + events.deploy.at + events.deploy.spreadMs + startWindowMs;
  const restartStart = start + events.restart.at;
  const restartEnd = restartStart + events.restart.spreadMs + startWindowMs;
  return (time) => {
    if (time < deployEnd) return 'deploy';
    if (time >= restartStart && time < restartEnd) return 'restart';
    return 'steady';
  };
}
