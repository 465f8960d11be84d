// What a process loads before its first query, checked in a child process against the built package
// (dist, as an application gets it): importing @keyless/postgres and building a connector (which does
// no I/O) must not make this package load a schema library — validation is a few lines of our own
// (core's settingSchema), as core's own settings are — nor the Key Vault SDK or a token library
// (issue 11; README, "What loads when").
import { fileURLToPath } from 'node:url';
import { modulesResolvedBy } from '@keyless/testing';
import { describe, expect, it } from 'vitest';

const builtEntryUrl = new URL('../dist/index.js', import.meta.url).href;
const builtEntry = fileURLToPath(builtEntryUrl);

describe('what @keyless/postgres loads before the first query', () => {
  it('no schema library from its own modules, in either mode', async () => {
    const imports = await modulesResolvedBy(`
      const { entraToken, fromKeyVaultSecret } = await import('@keyless/core');
      const { createPostgresConnector } = await import(${JSON.stringify(builtEntry)});
      const common = { host: 'db.postgres.database.azure.com', database: 'app', tokenProvider: { getToken: async () => null } };
      await createPostgresConnector({ ...common, user: 'app', password: entraToken() }).close();
      await createPostgresConnector({ ...common, user: 'app', password: fromKeyVaultSecret({ vaultUrl: 'https://vault.vault.azure.net', secretName: 'pg' }) }).close();
    `);
    // And none at all: @keyless/keyvault's shared password binding dropped zod too.
    expect(imports.filter(({ url }) => url.includes('/node_modules/zod/'))).toEqual([]);
    // Nor the Key Vault SDK or a token library: they load at the first login that needs them (the
    // secret's first read, the first token), and in Entra mode the SDK never does.
    for (const library of ['@azure/keyvault-secrets', '@azure/identity', '@azure/msal-node']) {
      expect(
        imports.filter(({ url }) => url.includes(`/node_modules/${library}/`)).map(({ url }) => url),
        library,
      ).toEqual([]);
    }
    const ownModules = imports.filter(({ parent }) => parent.includes('/packages/postgres/dist/'));
    // One bundled file (scripts/build-package.mjs), not one per source module.
    expect(
      new Set(imports.filter(({ url }) => url.includes('/postgres/dist/')).map(({ url }) => url)),
    ).toEqual(new Set([builtEntryUrl]));
    expect(
      ownModules.filter(({ url }) => url.includes('/node_modules/zod/')).map(({ parent }) => parent),
    ).toEqual([]);
  });
});
