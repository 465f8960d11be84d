// Types of benchmarks-report.mjs, for the release check's TypeScript (the script stays plain
// JavaScript with no dependencies, so `pnpm bench` can run it on any Node >= 18).
export interface BenchRow {
  measure: string;
  unit: string;
  raw: number | null;
  keyless: number | null;
  ratio: number | null;
  better: 'higher' | 'lower';
  goal: number | null;
  rawLabel?: string | null;
  keylessLabel?: string | null;
  note?: string;
}
export interface BenchTable {
  title: string;
  rows: BenchRow[];
}
export interface BenchResult {
  bench: string;
  title: string;
  generatedAt: string;
  node: string;
  tables: BenchTable[];
}
export interface BenchPackage {
  name: string;
  folder: string;
  command: string;
}
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
}
export function isBenchResult(value: unknown): value is BenchResult;
export function readBenchResults(folder: string): {
  results: (BenchResult & { file: string })[];
  skipped: string[];
};
export function findBenchPackages(root?: string): BenchPackage[];
export function describeMachine(): Machine;
export function formatNumber(value: unknown): string;
export function judgeRow(row: Pick<BenchRow, 'ratio' | 'goal' | 'better'>): 'pass' | 'miss' | undefined;
export function renderBenchmarksReport(input: {
  results: (BenchResult & { file: string })[];
  skipped?: string[];
  benchPackages?: BenchPackage[];
  machine: Machine;
  generatedAt: string;
}): string;
