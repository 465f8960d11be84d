// The writing side of the shared bench result format (benchmarks-report.mjs is the reading side):
// one JSON file per bench in bench-results/ at the repository root, `ratio` always keyless ÷ raw.
// Plain JavaScript with no dependencies, so every package's bench (run by `node`, no build) can
// import it by a relative path; types in bench-results.d.mts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { judgeRow } from './benchmarks-report.mjs';

/** A row with its ratio (keyless ÷ raw) computed; null when either side is missing or raw is 0. */
export function row(fields) {
  const { raw, keyless } = fields;
  const ratio = raw === null || keyless === null || raw === 0 ? null : Number((keyless / raw).toFixed(3));
  return { ...fields, ratio };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Prints the tables and writes bench-results/<bench>.json under `repositoryRoot`; returns the file. */
export function writeBenchResults(repositoryRoot, bench, title, tables) {
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
        met: { pass: 'yes', miss: 'NO', undefined: '' }[String(judgeRow(entry))],
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
