import { type FleetKind, fleetKinds, runFleet } from './fleet-run.js';
import { type FleetSummary, summarizeFleet } from './fleet-summary.js';
import { formatComparisonTable, formatPhaseTable } from './fleet-table.js';
import type { FleetScenario } from './scenario.js';

export type { FleetKind, FleetRun } from './fleet-run.js';
export { fleetKinds, runFleet } from './fleet-run.js';
export type { FleetSummary, ImdsSummary, Peak, VaultSummary } from './fleet-summary.js';
export { summarizeFleet } from './fleet-summary.js';
export { formatComparisonTable, formatOffset, formatPhaseTable } from './fleet-table.js';
export { defaultScenario, type FleetScenario, hour, minute, second } from './scenario.js';

export interface FleetComparison {
  scenario: FleetScenario;
  keyless: FleetSummary;
  raw: FleetSummary;
  /** CPU seconds each fleet took to simulate. */
  cpuSeconds: Record<FleetKind, number>;
}

/**
 * Runs the scenario twice over the same VMs, vault, workload and random draws: once with keyless
 * (real TokenProvider and secret sources), once with the raw libraries' behaviour.
 */
export async function compareFleets(scenario: FleetScenario): Promise<FleetComparison> {
  const summaries = {} as Record<FleetKind, FleetSummary>;
  const cpuSeconds = {} as Record<FleetKind, number>;
  for (const kind of fleetKinds) {
    const before = process.cpuUsage();
    const run = await runFleet(kind, scenario);
    const used = process.cpuUsage(before);
    cpuSeconds[kind] = (used.user + used.system) / 1e6;
    summaries[kind] = summarizeFleet(run, scenario);
  }
  return { scenario, keyless: summaries.keyless, raw: summaries.raw, cpuSeconds };
}

/** Both tables, as printed by `pnpm simulate:fleet` and recorded in docs/scale.md. */
export function formatComparison(comparison: FleetComparison): string {
  const { scenario, keyless, raw } = comparison;
  return [formatComparisonTable(keyless, raw, scenario), '', formatPhaseTable(keyless, raw)].join('\n');
}
