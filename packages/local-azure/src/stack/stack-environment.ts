/**
 * The environment an application needs to use the local stack, as `export` lines for a shell and
 * as a `.env` file. Values are quoted for POSIX shells; none of them is a secret (passwords live
 * in the Key Vault emulator and are fetched with a token, as in Azure).
 */
export function renderExportLines(environment: Readonly<Record<string, string>>): string {
  return Object.entries(environment)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}`)
    .join('\n');
}

/** The same environment as a `.env` file (`NAME="value"` lines). */
export function renderDotEnv(environment: Readonly<Record<string, string>>): string {
  const header =
    '# Written by keyless-local: the local Azure stack. Regenerated on every `keyless-local up`.\n';
  return `${header}${Object.entries(environment)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join('\n')}\n`;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}
