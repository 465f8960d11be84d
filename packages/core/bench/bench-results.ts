// The shared result format of every keyless bench (docs/benchmarks.md is rendered from these files):
// one JSON file per bench in bench-results/ at the repository root, `ratio` always keyless ÷ raw.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchRow {
  measure: string;
  unit: string;
  raw: number | null;
  keyless: number | null;
  ratio: number | null;
  better: 'higher' | 'lower';
  goal: number | null;
  rawLabel: string;
  keylessLabel: string;
  note?: string;
}

export interface BenchTable {
  title: string;
  rows: BenchRow[];
}

export function row(fields: Omit<BenchRow, 'ratio'>): BenchRow {
  const { raw, keyless } = fields;
  const ratio = raw === null || keyless === null || raw === 0 ? null : Number((keyless / raw).toFixed(3));
  return { ...fields, ratio };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Whether a row meets its goal (undefined when it has none). */
export function meetsGoal(entry: BenchRow): boolean | undefined {
  if (entry.goal === null || entry.ratio === null) return undefined;
  return entry.better === 'higher' ? entry.ratio >= entry.goal : entry.ratio <= entry.goal;
}

/** Prints the tables and writes bench-results/<bench>.json under `repositoryRoot`. */
export function writeBenchResults(
  repositoryRoot: string,
  bench: string,
  title: string,
  tables: BenchTable[],
): string {
  console.log(`\n${title} (Node ${process.version})`);
  for (const table of tables) {
    console.log(`\n${table.title}`);
    console.table(
      table.rows.map((entry) => ({
        measure: entry.measure,
        unit: entry.unit,
        raw: entry.raw,
        keyless: entry.keyless,
        ratio: entry.ratio,
        goal: entry.goal === null ? '' : `${entry.better === 'higher' ? '≥' : '≤'} ${entry.goal}`,
        met: { true: 'yes', false: 'NO', undefined: '' }[String(meetsGoal(entry))],
      })),
    );
  }
  const folder = join(repositoryRoot, 'bench-results');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${bench}.json`);
  const report = { bench, title, generatedAt: new Date().toISOString(), node: process.version, tables };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwritten: ${file}`);
  return file;
}
