/**
 * Which kinds of credential appear in a text, and how often — never the values. For the debug-output
 * run: with DEBUG/NODE_DEBUG on, the libraries under keyless print credentials that keyless cannot
 * filter, and this says which, so the documentation can, and a change shows up in the test.
 */
export interface CensusRow {
  kind: string;
  count: number;
}

/** The credentials the smoke run used, by kind (what consumer/smoke.mjs writes to KEYLESS_SMOKE_SECRETS_FILE). */
export type UsedSecrets = Record<string, readonly string[]>;

const patterns: { kind: string; pattern: RegExp }[] = [
  { kind: 'bearer token (JWT)', pattern: /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/g },
  { kind: 'Key Vault secret value (canary)', pattern: /keyless-canary-secret/g },
];

function occurrences(text: string, value: string): number {
  let count = 0;
  for (let at = text.indexOf(value); at !== -1; at = text.indexOf(value, at + value.length)) count += 1;
  return count;
}

export function credentialCensus(text: string, used: UsedSecrets): CensusRow[] {
  const rows: CensusRow[] = patterns.map(({ kind, pattern }) => ({
    kind,
    count: text.match(pattern)?.length ?? 0,
  }));
  for (const [kind, values] of Object.entries(used)) {
    // Short values could match by accident; the stack's passwords and header are long and random.
    const counted = values.filter((value) => value.length >= 12);
    rows.push({ kind, count: counted.reduce((sum, value) => sum + occurrences(text, value), 0) });
  }
  return rows;
}

/** A small table of kinds and counts, for the test's output and the README. */
export function formatCensus(rows: readonly CensusRow[]): string {
  const width = Math.max(...rows.map((row) => row.kind.length), 'credential'.length);
  return [
    `${'credential'.padEnd(width)}  times printed`,
    ...rows.map((row) => `${row.kind.padEnd(width)}  ${row.count}`),
  ].join('\n');
}
