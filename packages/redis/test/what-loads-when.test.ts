// What a process loads before its first command, checked in a child process against the built package
// (dist, as an application gets it): importing @keyless/redis and building a connector (which does
// no I/O) must not make this package load a schema library — validation is a few lines of our own
// (core's settingSchema), as core's own settings are (issue 11; README, "What loads when").
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const builtEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const builtNodeRedisEntry = fileURLToPath(new URL('../dist/node-redis.js', import.meta.url));

/** Every module the child resolves, with the module that imported it. */
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

describe('what @keyless/redis loads before the first command', () => {
  it('no schema library from its own modules, in either mode', async () => {
    const imports = await importsOf(`
      const { entraToken, fromKeyVaultSecret } = await import('@keyless/core');
      const { createRedisConnector } = await import(${JSON.stringify(builtEntry)});
      const common = { host: 'cache.redis.cache.windows.net', tokenProvider: { getToken: async () => null } };
      await createRedisConnector({ ...common, user: '00000000-0000-0000-0000-000000000001', password: entraToken() }).close();
      await createRedisConnector({ ...common, password: fromKeyVaultSecret({ vaultUrl: 'https://vault.vault.azure.net', secretName: 'redis' }) }).close();
    `);
    // And none at all: @keyless/keyvault's shared password binding dropped zod too.
    expect(imports.filter(({ url }) => url.includes('/node_modules/zod/'))).toEqual([]);
    // Nor the Key Vault SDK or a token library: they load at the first connect that needs them (the
    // secret's first read, the first token), and in Entra mode the SDK never does.
    for (const library of ['@azure/keyvault-secrets', '@azure/identity', '@azure/msal-node']) {
      expect(
        imports.filter(({ url }) => url.includes(`/node_modules/${library}/`)).map(({ url }) => url),
        library,
      ).toEqual([]);
    }
    const ownModules = imports.filter(({ parent }) => parent.includes('/packages/redis/dist/'));
    expect(ownModules.some(({ url }) => url.endsWith('/redis/dist/redis-options.js'))).toBe(true);
    expect(
      ownModules.filter(({ url }) => url.includes('/node_modules/zod/')).map(({ parent }) => parent),
    ).toEqual([]);
  });

  it('the node-redis subpath loads neither ioredis nor, before its first client, node-redis', async () => {
    const imports = await importsOf(`
      const { entraToken } = await import('@keyless/core');
      const { createNodeRedisConnector } = await import(${JSON.stringify(builtNodeRedisEntry)});
      await createNodeRedisConnector({ host: 'cache.redis.cache.windows.net', tokenProvider: { getToken: async () => null }, user: '00000000-0000-0000-0000-000000000001', password: entraToken() }).close();
    `);
    for (const library of ['ioredis', 'redis', '@redis/client']) {
      expect(
        imports.filter(({ url }) => url.includes(`/node_modules/${library}/`)).map(({ url }) => url),
        library,
      ).toEqual([]);
    }
    expect(imports.some(({ url }) => url.endsWith('/redis/dist/node-redis-connector.js'))).toBe(true);
  });
});
