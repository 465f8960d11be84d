import type { FleetKind, FleetRun } from './fleet-run.js';
import type { StartStatistics } from './instance-slot.js';
import type { FleetScenario } from './scenario.js';
import type { FailedOperations } from './simulated-app.js';
import { type Phase, phases, type Traffic } from './traffic-tally.js';

/** A peak, where it happened (VM index for IMDS), and when (milliseconds after t = 0). */
export interface Peak {
  value: number;
  vm?: number;
  atMs: number | undefined;
}

export interface ImdsSummary {
  peakPerSecond: Peak;
  peakConcurrent: Peak;
  /** VMs whose identity endpoint saw more than the limit in some second / at some instant. */
  vmsOverRateLimit: number;
  vmsOverConcurrencyLimit: number;
  requests: number;
  requestsPerVmMax: number;
  requestsPerVmMean: number;
  throttled: number;
  failed: number;
}

export interface VaultSummary {
  peakPerTenSeconds: Peak;
  gets: number;
  throttled: number;
}

export interface FleetSummary {
  kind: FleetKind;
  imds: ImdsSummary;
  imdsByPhase: Record<Phase, ImdsSummary>;
  vault: VaultSummary;
  vaultByPhase: Record<Phase, VaultSummary>;
  failures: FailedOperations;
  starts: StartStatistics;
  events: number;
}

/** Boils one fleet's per-VM statistics down to the numbers the table shows. */
export function summarizeFleet(run: FleetRun, scenario: FleetScenario): FleetSummary {
  const imdsFor = (pick: (index: number) => Traffic) =>
    summarizeImds(
      run.imds.map((_, vm) => pick(vm)),
      scenario,
    );
  const vaultFor = (traffic: Traffic) => summarizeVault(traffic, scenario);
  return {
    kind: run.kind,
    imds: imdsFor((vm) => (run.imds[vm] as FleetRun['imds'][number]).total),
    imdsByPhase: Object.fromEntries(
      phases.map((phase) => [
        phase,
        imdsFor((vm) => (run.imds[vm] as FleetRun['imds'][number]).byPhase[phase]),
      ]),
    ) as Record<Phase, ImdsSummary>,
    vault: vaultFor(run.vault.total),
    vaultByPhase: Object.fromEntries(
      phases.map((phase) => [phase, vaultFor(run.vault.byPhase[phase])]),
    ) as Record<Phase, VaultSummary>,
    failures: run.failures,
    starts: run.starts,
    events: run.events,
  };
}

function summarizeImds(perVm: Traffic[], scenario: FleetScenario): ImdsSummary {
  const relative = (at: number | undefined) =>
    at === undefined ? undefined : Math.round(at - scenario.start);
  let peakPerSecond: Peak = { value: 0, atMs: undefined };
  let peakConcurrent: Peak = { value: 0, atMs: undefined };
  let requests = 0;
  let requestsPerVmMax = 0;
  let throttled = 0;
  let failed = 0;
  let vmsOverRateLimit = 0;
  let vmsOverConcurrencyLimit = 0;
  perVm.forEach((traffic, vm) => {
    if (traffic.peakPerWindow > peakPerSecond.value) {
      peakPerSecond = { value: traffic.peakPerWindow, vm, atMs: relative(traffic.peakPerWindowAt) };
    }
    if (traffic.peakConcurrent > peakConcurrent.value) {
      peakConcurrent = { value: traffic.peakConcurrent, vm, atMs: relative(traffic.peakConcurrentAt) };
    }
    if (traffic.peakPerWindow > scenario.imds.maxRequestsPerSecond) vmsOverRateLimit += 1;
    if (traffic.peakConcurrent > scenario.imds.maxConcurrentRequests) vmsOverConcurrencyLimit += 1;
    requests += traffic.requests;
    requestsPerVmMax = Math.max(requestsPerVmMax, traffic.requests);
    throttled += traffic.throttled;
    failed += traffic.failed;
  });
  return {
    peakPerSecond,
    peakConcurrent,
    vmsOverRateLimit,
    vmsOverConcurrencyLimit,
    requests,
    requestsPerVmMax,
    requestsPerVmMean: perVm.length === 0 ? 0 : requests / perVm.length,
    throttled,
    failed,
  };
}

function summarizeVault(traffic: Traffic, scenario: FleetScenario): VaultSummary {
  return {
    peakPerTenSeconds: {
      value: traffic.peakPerWindow,
      atMs:
        traffic.peakPerWindowAt === undefined
          ? undefined
          : Math.round(traffic.peakPerWindowAt - scenario.start),
    },
    gets: traffic.requests,
    throttled: traffic.throttled,
  };
}
