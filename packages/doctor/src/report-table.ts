import type { DoctorFailure, DoctorReport, DoctorStatus } from './doctor-report.js';

const marks: Record<DoctorStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

/**
 * The report as text for a terminal: one table of checks, then each failure with its cause and
 * fix. Plain ASCII columns, no colour, so it survives logs and CI output unchanged.
 */
export function renderDoctorReport(report: DoctorReport): string {
  const rows: string[][] = [['status', 'check', 'detail']];
  rows.push([marks[report.host.status], 'host', `${report.host.kind}: ${report.host.description}`]);
  if (report.host.variables.length > 0) rows.push(['', '', `from ${report.host.variables.join(', ')}`]);
  const identity = report.identity;
  rows.push(['', 'backend', `${identity.backend} (${identity.backendFrom})`]);
  rows.push(['', 'identity', `${identity.selector} (${identity.selectorFrom})`]);
  const ids = [
    identity.objectId && `object id ${identity.objectId}`,
    identity.tenantId && `tenant ${identity.tenantId}`,
    identity.appId && `app id ${identity.appId}`,
  ].filter(Boolean);
  if (ids.length > 0) rows.push(['', '', ids.join(', ')]);
  if (identity.resourceId) rows.push(['', '', identity.resourceId]);
  for (const clock of report.clock) {
    rows.push([
      marks[clock.status],
      `clock vs ${clock.source}`,
      clock.skewSeconds === undefined ? (clock.failure?.cause ?? '') : `${signed(clock.skewSeconds)} s`,
    ]);
  }
  for (const resource of report.resources) {
    const name = `${resource.resource}${resource.mode ? ` (${resource.mode})` : ''}`;
    rows.push([marks[resource.status], name, resource.target]);
    const token = resource.token;
    const tokenDetail =
      token.status === 'pass'
        ? `${token.latencyMs} ms, expires ${token.expiresOn}, aud ${token.claims?.aud ?? '?'}, oid ${token.claims?.oid ?? '?'}`
        : token.status === 'skip'
          ? 'not requested'
          : (token.failure?.code ?? 'failed');
    rows.push([marks[token.status], '  token', `${token.scope}: ${tokenDetail}`]);
    const probe = resource.probe;
    const probeDetail =
      probe.status === 'pass' ? `${probe.latencyMs} ms` : (probe.failure?.code ?? probe.status);
    rows.push([marks[probe.status], '  probe', `${probe.operation}: ${probeDetail}`]);
  }
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const lines = rows.map((row) =>
    [(row[0] ?? '').padEnd(widths[0] ?? 0), (row[1] ?? '').padEnd(widths[1] ?? 0), row[2] ?? '']
      .join('  ')
      .trimEnd(),
  );

  const failures: Array<[string, DoctorFailure]> = [];
  for (const failure of report.configuration) failures.push(['configuration', failure]);
  if (report.host.failure) failures.push(['host', report.host.failure]);
  for (const clock of report.clock) {
    if (clock.failure && clock.status !== 'pass' && clock.status !== 'skip')
      failures.push([`clock vs ${clock.source}`, clock.failure]);
  }
  for (const resource of report.resources) {
    const name = `${resource.resource}${resource.mode ? ` (${resource.mode})` : ''}`;
    if (resource.token.failure) failures.push([`${name} token`, resource.token.failure]);
    if (resource.probe.failure && resource.probe.failure.code !== 'skipped')
      failures.push([`${name} probe`, resource.probe.failure]);
  }
  const details = failures.map(([where, failure]) =>
    [
      `${where}: ${failure.code}`,
      `  cause: ${failure.cause}`,
      ...failure.fix.map((fix) => `  fix:   ${fix}`),
      ...failure.notes.map((note) => `  note:  ${note}`),
    ].join('\n'),
  );
  const verdict = report.ok
    ? 'keyless doctor: everything configured works'
    : `keyless doctor: ${failures.length} problem${failures.length === 1 ? '' : 's'} — see the fixes above`;
  return [lines.join('\n'), ...details, verdict].join('\n\n');
}

function signed(value: number): string {
  return value > 0 ? `+${value}` : String(value);
}
