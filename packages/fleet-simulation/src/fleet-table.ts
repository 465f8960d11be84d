import type { FleetSummary, ImdsSummary, Peak, VaultSummary } from './fleet-summary.js';
import type { FleetScenario } from './scenario.js';
import { type Phase, phases } from './traffic-tally.js';

const number = (value: number) => Math.round(value).toLocaleString('en-US');

/** Milliseconds after t = 0 as +HH:MM:SS. */
export function formatOffset(milliseconds: number | undefined): string {
  if (milliseconds === undefined) return '';
  const seconds = Math.floor(milliseconds / 1000);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `+${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
}

function peak(value: Peak): string {
  return value.atMs === undefined
    ? number(value.value)
    : `${number(value.value)} at ${formatOffset(value.atMs)}`;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** The comparison table (Markdown): metric | keyless | raw libraries | limit. */
export function formatComparisonTable(
  keyless: FleetSummary,
  raw: FleetSummary,
  scenario: FleetScenario,
): string {
  const { imds, vault } = scenario;
  const both = (pick: (summary: FleetSummary) => string) => [pick(keyless), pick(raw)];
  const failed = (pick: (summary: FleetSummary) => number) => both((summary) => number(pick(summary)));
  const lines = [
    row(['metric', 'keyless', 'raw libraries', 'limit']),
    row(['---', '---:', '---:', '---:']),
    row([`**Identity endpoint (IMDS), per VM — ${scenario.vmCount} VMs**`, '', '', '']),
    row([
      'peak requests in one second (worst VM)',
      ...both((summary) => peak(summary.imds.peakPerSecond)),
      `${imds.maxRequestsPerSecond}/s`,
    ]),
    row([
      'peak concurrent requests (worst VM)',
      ...both((summary) => peak(summary.imds.peakConcurrent)),
      String(imds.maxConcurrentRequests),
    ]),
    row([
      `VMs over the rate / concurrency limit (of ${scenario.vmCount})`,
      ...both((summary) => `${summary.imds.vmsOverRateLimit} / ${summary.imds.vmsOverConcurrencyLimit}`),
      '0 / 0',
    ]),
    row([
      'requests over the run, worst VM (mean per VM)',
      ...both(
        (summary) => `${number(summary.imds.requestsPerVmMax)} (${number(summary.imds.requestsPerVmMean)})`,
      ),
      '—',
    ]),
    row(['429s received, all VMs', ...failed((summary) => summary.imds.throttled), '—']),
    row(['**Key Vault — one vault**', '', '', '']),
    row([
      'peak GETs in any 10 seconds',
      ...both((summary) => peak(summary.vault.peakPerTenSeconds)),
      number(vault.maxGetsPerTenSeconds),
    ]),
    row(['GETs over the run', ...failed((summary) => summary.vault.gets), '—']),
    row(['429s received', ...failed((summary) => summary.vault.throttled), '—']),
    row(['**Operations failed for want of a token or secret**', '', '', '']),
    row(['Blob calls', ...failed((summary) => summary.failures.blob), '']),
    row(['Key Vault reads (app setting)', ...failed((summary) => summary.failures.keyVault), '']),
    row(['SQL connections', ...failed((summary) => summary.failures.sql), '']),
    row(['PostgreSQL connections', ...failed((summary) => summary.failures.postgres), '']),
    row(['Redis commands (password refused)', ...failed((summary) => summary.failures.redis), '']),
    row([
      'process starts that failed (of all starts)',
      ...both((summary) => `${number(summary.starts.failed)} (of ${number(summary.starts.attempts)})`),
      '',
    ]),
  ];
  return lines.join('\n');
}

const phaseNames: Record<Phase, string> = {
  deploy: 'deploy (first 10 min)',
  restart: 'mass restart (10 min)',
  steady: 'everything else',
};

/** Where the load comes from: the same peaks per part of the run, keyless / raw. */
export function formatPhaseTable(keyless: FleetSummary, raw: FleetSummary): string {
  const pair = (pick: (imds: ImdsSummary, vault: VaultSummary) => number, phase: Phase) =>
    `${number(pick(keyless.imdsByPhase[phase], keyless.vaultByPhase[phase]))} / ${number(
      pick(raw.imdsByPhase[phase], raw.vaultByPhase[phase]),
    )}`;
  const lines = [
    row([
      'part of the run (keyless / raw)',
      'IMDS peak per s',
      'IMDS peak concurrent',
      'IMDS requests',
      'IMDS 429s',
      'Key Vault peak per 10 s',
      'Key Vault 429s',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...phases.map((phase) =>
      row([
        phaseNames[phase],
        pair((imds) => imds.peakPerSecond.value, phase),
        pair((imds) => imds.peakConcurrent.value, phase),
        pair((imds) => imds.requests, phase),
        pair((imds) => imds.throttled, phase),
        pair((_, vault) => vault.peakPerTenSeconds.value, phase),
        pair((_, vault) => vault.throttled, phase),
      ]),
    ),
  ];
  return lines.join('\n');
}
