// What a process loads before its first query, checked in a child process against the built package
// (dist, as an application gets it): importing @keyless/sql and building a connector (which does no
// I/O) loads tedious and @keyless/core, no schema library, and neither of core's token backends —
// those load at the first token (issue 11; README, "What loads when").
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const builtEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Every module the child resolves (ES imports and CommonJS requires alike), with its importer. */
async function importsOf(body: string): Promise<{ url: string; parent: string }[]> {
  const script = `
    import { registerHooks } from 'node:module';
    const imports = [];
    registerHooks({
      resolve(specifier, context, nextResolve) {
        const result = nextResolve(specifier, context);
        imports.push({ url: result.url, parent: context.parentURL ?? '' });
        return result;
      },
    });
    ${body}
    console.log(JSON.stringify(imports));
  `;
  const child = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '' },
  });
  expect(child.stderr).toBe('');
  return JSON.parse(child.stdout.trim().split('\n').at(-1) as string);
}

describe('what @keyless/sql loads before the first query', () => {
  it('tedious and core; no schema library, no token backend, no token library of its own', async () => {
    const imports = await importsOf(`
      const { createSqlConnector } = await import(${JSON.stringify(builtEntry)});
      const connector = createSqlConnector({
        server: 'app.database.windows.net',
        database: 'app',
        tokenProvider: { getToken: async () => null },
      });
      await connector.close();
    `);
    const urls = imports.map(({ url }) => url);
    expect(urls.some((url) => url.includes('/node_modules/tedious/'))).toBe(true);
    expect(urls.some((url) => url.endsWith('/core/dist/index.js'))).toBe(true);
    expect(urls.filter((url) => url.includes('/node_modules/zod/'))).toEqual([]);
    // Core's backends load at the first token, and only the configured one.
    expect(
      urls.filter((url) => /\/core\/dist\/backends\/(msal|azure-identity)-backend\.js$/.test(url)),
    ).toEqual([]);
    // tedious itself requires @azure/identity (its own Entra authentication types); this package
    // imports no token library of its own.
    const ownImports = imports.filter(({ parent }) => parent.includes('/packages/sql/dist/'));
    expect(ownImports.some(({ url }) => url.endsWith('/sql/dist/sql-connector.js'))).toBe(true);
    expect(
      ownImports
        .filter(({ url }) => /\/node_modules\/@azure\/(identity|msal-node)\//.test(url))
        .map(({ url }) => url),
    ).toEqual([]);
  });
});
