// Types of bench-results.mjs, for the benches' TypeScript.
import type { BenchRow, BenchTable } from './benchmarks-report.mjs';

export type { BenchRow, BenchTable };
export function row(fields: Omit<BenchRow, 'ratio'>): BenchRow;
export function median(values: readonly number[]): number;
export function writeBenchResults(
  repositoryRoot: string,
  bench: string,
  title: string,
  tables: BenchTable[],
): string;
