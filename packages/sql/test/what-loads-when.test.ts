// What a process loads before its first query, checked in a child process against the built package
// (dist, as an application gets it): importing @keyless/sql and building a connector (which does no
// I/O) loads tedious and @keyless/core, no schema library, and neither of core's token backends —
// those load at the first token (issue 11; README, "What loads when").
import { fileURLToPath } from 'node:url';
import { modulesResolvedBy } from '@keyless/testing';
import { describe, expect, it } from 'vitest';

const builtEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('what @keyless/sql loads before the first query', () => {
  it('tedious and core; no schema library, no token backend, no token library of its own', async () => {
    const imports = await modulesResolvedBy(`
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
      urls.filter((url) => /\/core\/dist\/chunks\/(msal|azure-identity)-backend-[A-Z0-9]+\.js$/.test(url)),
    ).toEqual([]);
    // tedious itself requires @azure/identity (its own Entra authentication types); this package
    // imports no token library of its own.
    const ownImports = imports.filter(({ parent }) => parent.includes('/packages/sql/dist/'));
    // Bundled (scripts/build-package.mjs): the entry point and its shared chunk, not one file per module.
    expect(ownImports.some(({ url }) => url.includes('/node_modules/tedious/'))).toBe(true);
    expect(new Set(urls.filter((url) => url.includes('/sql/dist/'))).size).toBeLessThanOrEqual(2);
    expect(
      ownImports
        .filter(({ url }) => /\/node_modules\/@azure\/(identity|msal-node)\//.test(url))
        .map(({ url }) => url),
    ).toEqual([]);
  });
});
