// Renders docs/benchmarks.md from bench-results/*.json: `pnpm bench` runs every package's bench
// and then this, so one command regenerates everything; `pnpm bench:report` re-renders only.
//
// Runs on any Node >= 18 with no dependencies. Every bench writes the shared format:
//   { bench, title, generatedAt, node, tables: [{ title, rows: [{ measure, unit, raw, keyless,
//     ratio, better, goal, rawLabel, keylessLabel, note }] }] }
// where ratio = keyless ÷ raw, better = 'higher' | 'lower', goal = the issue's target ratio or null.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** True when `value` has the shared shape (older files, e.g. sql-postgres-redis.json, do not). */
export function isBenchResult(value) {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof value.bench === 'string' &&
    typeof value.title === 'string' &&
    Array.isArray(value.tables)
  );
}

/** Every `*.json` in `folder`, by file name: `{ results, skipped }` (skipped: files not in the shared format). */
export function readBenchResults(folder) {
  const results = [];
  const skipped = [];
  if (!existsSync(folder)) return { results, skipped };
  for (const file of readdirSync(folder)
    .filter((name) => name.endsWith('.json'))
    .sort()) {
    let parsed;
    try {
      parsed = JSON.parse(readFileSync(join(folder, file), 'utf8'));
    } catch {
      skipped.push(file);
      continue;
    }
    if (isBenchResult(parsed)) results.push({ file, ...parsed });
    else skipped.push(file);
  }
  return { results, skipped };
}

/** The workspace packages with a `bench` script (what `pnpm bench` runs through turbo). */
export function findBenchPackages(root = repositoryRoot) {
  const found = [];
  for (const group of ['packages', 'apps']) {
    const groupFolder = join(root, group);
    if (!existsSync(groupFolder)) continue;
    for (const entry of readdirSync(groupFolder, { withFileTypes: true })) {
      const manifestPath = join(groupFolder, entry.name, 'package.json');
      if (!entry.isDirectory() || !existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
      if (manifest.scripts?.bench)
        found.push({
          name: manifest.name,
          folder: `${group}/${entry.name}`,
          command: manifest.scripts.bench,
        });
    }
  }
  return found.sort((left, right) => left.folder.localeCompare(right.folder));
}

/** The machine the numbers come from: ratios travel between machines, absolute figures do not. */
export function describeMachine() {
  const processors = cpus();
  return {
    cpu: processors[0]?.model?.trim() || 'unknown CPU',
    cores: processors.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
  };
}

function escapeCell(text) {
  // Markdown would read `<tarball>` as an HTML tag and `|` as a column break.
  return String(text)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('|', '\\|')
    .replaceAll('\n', ' ');
}

/** 14015 → "14,015"; 0.0812 → "0.0812"; 275.4 → "275"; 7.82 → "7.82". */
export function formatNumber(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  const magnitude = Math.abs(value);
  if (Number.isInteger(value) || magnitude >= 100) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 1) return value.toFixed(2).replace(/\.?0+$/, '');
  return Number(value.toPrecision(3)).toString();
}

function formatGoal(row) {
  if (typeof row.goal !== 'number') return '—';
  return `${row.better === 'lower' ? '≤' : '≥'} ${row.goal}`;
}

/** 'pass', 'miss' or undefined (no goal, or no ratio to judge). */
export function judgeRow(row) {
  if (typeof row.goal !== 'number' || typeof row.ratio !== 'number') return undefined;
  return (row.better === 'lower' ? row.ratio <= row.goal : row.ratio >= row.goal) ? 'pass' : 'miss';
}

const marks = { pass: '✅ pass', miss: '❌ miss' };

function valueCell(value, unit, label) {
  if (typeof value !== 'number') return '—';
  const figure = `${formatNumber(value)}${unit ? ` ${unit}` : ''}`;
  return label ? `${figure} · ${escapeCell(label)}` : figure;
}

/** The label all rows share, if they do (then it is said once above the table, not in every cell). */
function sharedLabel(rows, key) {
  const labels = new Set(rows.map((row) => row[key] ?? null));
  return labels.size === 1 ? [...labels][0] : undefined;
}

function renderTable(table) {
  const rows = table.rows ?? [];
  const rawLabel = sharedLabel(rows, 'rawLabel');
  const keylessLabel = sharedLabel(rows, 'keylessLabel');
  const lines = [`### ${escapeCell(table.title)}`, ''];
  const said = [];
  if (rawLabel) said.push(`raw: ${escapeCell(rawLabel)}`);
  if (keylessLabel) said.push(`keyless: ${escapeCell(keylessLabel)}`);
  if (said.length > 0) lines.push(`${said.join('; ')}.`, '');
  lines.push(
    '| measure | raw | keyless | ratio (keyless ÷ raw) | goal | result | note |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- |',
  );
  for (const row of rows) {
    const verdict = judgeRow(row);
    lines.push(
      `| ${[
        escapeCell(row.measure),
        valueCell(row.raw, row.unit, rawLabel === undefined ? row.rawLabel : undefined),
        valueCell(row.keyless, row.unit, keylessLabel === undefined ? row.keylessLabel : undefined),
        typeof row.ratio === 'number' ? row.ratio.toFixed(3) : '—',
        formatGoal(row),
        verdict ? marks[verdict] : '—',
        row.note ? escapeCell(row.note) : '',
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

function countVerdicts(result) {
  const counts = { pass: 0, miss: 0 };
  for (const table of result.tables) {
    for (const row of table.rows ?? []) {
      const verdict = judgeRow(row);
      if (verdict) counts[verdict] += 1;
    }
  }
  return counts;
}

/** docs/benchmarks.md as a string: a pure function of its inputs, so a test can check it. */
export function renderBenchmarksReport({ results, skipped = [], benchPackages = [], machine, generatedAt }) {
  const lines = [
    '# Benchmarks',
    '',
    '<!-- Generated by scripts/benchmarks-report.mjs from bench-results/*.json: run `pnpm bench` (every',
    '     bench, then this report) or `pnpm bench:report` (this report only). Do not edit by hand. -->',
    '',
    'keyless and the raw library it wraps, measured in the same run on the same local stack, rounds',
    'interleaved. Judge by the **ratio** (keyless ÷ raw): absolute figures depend on the machine and',
    'on what else it runs, ratios much less. A goal is the target of issue 11: at least the goal where',
    'higher is better, at most where lower is better.',
    '',
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB memory, ${machine.platform}`,
    `- Node: ${machine.node}`,
    `- Report generated: ${generatedAt}`,
    '',
    '## Summary',
    '',
    '| bench | generated | Node | goals met | goals missed |',
    '| --- | --- | --- | ---: | ---: |',
  ];
  for (const result of results) {
    const counts = countVerdicts(result);
    lines.push(
      `| [${escapeCell(result.title)}](#${anchorFor(result)}) | ${escapeCell(result.generatedAt ?? '—')} | ${escapeCell(result.node ?? '—')} | ${counts.pass} | ${counts.miss} |`,
    );
  }
  if (results.length === 0) lines.push('| (no results in bench-results/: run `pnpm bench`) | | | | |');
  if (benchPackages.length > 0) {
    lines.push('', 'The benches `pnpm bench` runs (one per package, through turbo, one at a time):', '');
    for (const each of benchPackages)
      lines.push(`- \`${each.name}\` (${each.folder}): \`${escapeCell(each.command)}\``);
  }
  if (skipped.length > 0) {
    lines.push(
      '',
      `Not in the shared format, so not shown: ${skipped.map((file) => `bench-results/${file}`).join(', ')}.`,
    );
  }
  for (const result of results) {
    lines.push(
      '',
      `<a id="${anchorFor(result)}"></a>`,
      '',
      `## ${escapeCell(result.title)}`,
      '',
      `Bench \`${escapeCell(result.bench)}\`, from \`bench-results/${result.file}\`, generated ${escapeCell(result.generatedAt ?? '—')} on Node ${escapeCell(result.node ?? '—')}.`,
    );
    for (const table of result.tables) lines.push('', renderTable(table));
  }
  return `${lines.join('\n')}\n`;
}

function anchorFor(result) {
  return `bench-${result.bench.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
}

function argument(name, fallback) {
  const index = process.argv.indexOf(name);
  return index > 0 && process.argv[index + 1] ? resolve(process.argv[index + 1]) : fallback;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const resultsFolder = argument('--results', join(repositoryRoot, 'bench-results'));
  const output = argument('--output', join(repositoryRoot, 'docs', 'benchmarks.md'));
  const { results, skipped } = readBenchResults(resultsFolder);
  const report = renderBenchmarksReport({
    results,
    skipped,
    benchPackages: findBenchPackages(),
    machine: describeMachine(),
    generatedAt: new Date().toISOString(),
  });
  writeFileSync(output, report);
  process.stdout.write(
    `benchmarks report: ${results.length} bench(es) from ${relative(process.cwd(), resultsFolder) || '.'} written to ${relative(process.cwd(), output)}\n`,
  );
}
