import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScenarioResult } from './scenario-result.ts';

const headings = [
  'fault',
  'expected',
  'ops attempted',
  'ops failed',
  'failure codes',
  'identity requests',
  'Key Vault requests',
  'verdict',
] as const;

function rows(results: readonly ScenarioResult[], operationTimeoutMs: number): string[][] {
  return results.map((result) => [
    result.name,
    // A scenario that lets operations wait longer than the suite's timeout says so.
    result.operationTimeoutMs === operationTimeoutMs
      ? result.expectation
      : `${result.expectation} (timeout ${result.operationTimeoutMs / 1000} s)`,
    String(result.attempted),
    String(result.failed),
    failureCodes(result),
    String(result.requests.identity),
    String(result.requests.keyVault),
    result.verdict === 'pass' ? 'pass' : `FAIL: ${result.verdictReason}`,
  ]);
}

/** e.g. `unavailable ×12 (postgres-query)`; `—` when nothing failed. */
function failureCodes(result: ScenarioResult): string {
  if (result.failed === 0) return '—';
  const groups = new Map<string, { count: number; kinds: Set<string> }>();
  for (const failure of result.failures) {
    const group = groups.get(failure.code) ?? { count: 0, kinds: new Set<string>() };
    group.count += 1;
    group.kinds.add(failure.kind);
    groups.set(failure.code, group);
  }
  return [...groups]
    .map(([code, group]) => `${code} ×${group.count} (${[...group.kinds].join(', ')})`)
    .join('; ');
}

const numericColumns = new Set([2, 3, 5, 6]);

/** Plain text, aligned columns: what the run prints. */
export function renderTable(results: readonly ScenarioResult[], operationTimeoutMs: number): string {
  const table = [[...headings], ...rows(results, operationTimeoutMs)];
  const widths = headings.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        numericColumns.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const [header, ...body] = table;
  return [line(header ?? []), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line)].join(
    '\n',
  );
}

/** A markdown table with padded columns, so it reads as well in the file as rendered. */
export function renderMarkdown(results: readonly ScenarioResult[], context: RunContext): string {
  const table = [
    [...headings],
    ...rows(results, context.operationTimeoutMs).map((row) => row.map((cell) => cell.replaceAll('|', '\\|'))),
  ];
  const widths = headings.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    `| ${row
      .map((cell, column) =>
        numericColumns.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join(' | ')} |`;
  const rule = `| ${widths
    .map((width, column) => (numericColumns.has(column) ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width)))
    .join(' | ')} |`;
  const [header, ...body] = table;
  return [
    `Backends: ${context.backends.join(' and ')} (one connector set each, under load at the same time). ` +
      `Operation timeout ${context.operationTimeoutMs} ms unless a row says otherwise. Run took ${Math.round(context.durationMs / 1000)} s.`,
    '',
    line(header ?? []),
    rule,
    ...body.map(line),
    '',
  ].join('\n');
}

export interface RunContext {
  backends: readonly string[];
  operationTimeoutMs: number;
  durationMs: number;
}

/** `faults.json` (everything, failures included) and `faults.md` (the table) in `folder`. */
export async function writeReport(
  folder: string,
  results: readonly ScenarioResult[],
  context: RunContext,
): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(
    join(folder, 'faults.json'),
    `${JSON.stringify({ ...context, finishedAt: new Date().toISOString(), results }, null, 2)}\n`,
  );
  await writeFile(join(folder, 'faults.md'), renderMarkdown(results, context));
}
