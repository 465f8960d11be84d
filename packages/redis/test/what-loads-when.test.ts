// What a process loads before its first command, checked in a child process against the built package
// (dist, as an application gets it): importing @keyless/redis and building a connector (which does
// no I/O) must not make this package load a schema library — validation is a few lines of our own
// (core's settingSchema), as core's own settings are (issue 11; README, "What loads when").
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const builtEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

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

/** This package's own files the child loaded, relative to dist/: bundled, so only `index.js`. */
const ownFiles = (imports: { url: string }[]) => [
  ...new Set(
    imports
      .filter(({ url }) => url.includes('/redis/dist/'))
      .map(({ url }) => url.replace(/^.*\/redis\/dist\//, '')),
  ),
];

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
    // Nor either Redis client: ioredis loads with createRedisConnector()'s first client, node-redis
    // with createNodeRedisConnector()'s (both optional peers; an application installs one).
    for (const library of [
      '@azure/keyvault-secrets',
      '@azure/identity',
      '@azure/msal-node',
      'ioredis',
      'redis',
      '@redis/client',
    ]) {
      expect(
        imports.filter(({ url }) => url.includes(`/node_modules/${library}/`)).map(({ url }) => url),
        library,
      ).toEqual([]);
    }
    const ownModules = imports.filter(({ parent }) => parent.includes('/packages/redis/dist/'));
    // One bundled file (scripts/build-package.mjs), not one per source module.
    expect(ownFiles(imports)).toEqual(['index.js']);
    expect(
      ownModules.filter(({ url }) => url.includes('/node_modules/zod/')).map(({ parent }) => parent),
    ).toEqual([]);
  });

  it('createNodeRedisConnector() loads neither ioredis nor, before its first client, node-redis', async () => {
    const imports = await importsOf(`
      const { entraToken } = await import('@keyless/core');
      const { createNodeRedisConnector } = await import(${JSON.stringify(builtEntry)});
      await createNodeRedisConnector({ host: 'cache.redis.cache.windows.net', tokenProvider: { getToken: async () => null }, user: '00000000-0000-0000-0000-000000000001', password: entraToken() }).close();
    `);
    for (const library of ['ioredis', 'redis', '@redis/client']) {
      expect(
        imports.filter(({ url }) => url.includes(`/node_modules/${library}/`)).map(({ url }) => url),
        library,
      ).toEqual([]);
    }
    expect(ownFiles(imports)).toEqual(['index.js']);
  });
});

describe('a Redis client library that is not installed', () => {
  /** Runs `body` in a child where resolving `hidden` fails as it does when the package is absent. */
  async function withoutLibrary(
    hidden: string,
    body: string,
  ): Promise<{ name: string; message: string; hint: string }> {
    const script = `
      import { registerHooks } from 'node:module';
      registerHooks({
        resolve(specifier, context, nextResolve) {
          if (specifier === ${JSON.stringify(hidden)}) {
            throw Object.assign(new Error("Cannot find module '" + specifier + "'"), { code: 'MODULE_NOT_FOUND' });
          }
          return nextResolve(specifier, context);
        },
      });
      try {
        ${body}
        console.log(JSON.stringify({ name: 'no error', message: '', hint: '' }));
      } catch (error) {
        console.log(JSON.stringify({ name: error.name, message: error.message, hint: error.hint ?? '' }));
      }
    `;
    const child = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { PATH: process.env.PATH ?? '' },
    });
    return JSON.parse(child.stdout.trim().split('\n').at(-1) as string);
  }

  const options = `{ host: 'cache.redis.cache.windows.net', tokenProvider: { getToken: async () => null }, user: '00000000-0000-0000-0000-000000000001', password: (await import('@keyless/core')).entraToken() }`;

  it('without ioredis: the package still imports, and the first ioredis client is a ConfigurationError with the install line', async () => {
    const outcome = await withoutLibrary(
      'ioredis',
      `const { createRedisConnector } = await import(${JSON.stringify(builtEntry)});
       const connector = createRedisConnector(${options});
       try { connector.client; } finally { await connector.close(); }`,
    );
    expect(outcome.name).toBe('ConfigurationError');
    expect(outcome.message).toContain('ioredis');
    expect(outcome.hint).toContain('npm install ioredis');
  });

  it('without node-redis: the first node-redis client is a ConfigurationError with the install line', async () => {
    const outcome = await withoutLibrary(
      'redis',
      `const { createNodeRedisConnector } = await import(${JSON.stringify(builtEntry)});
       const connector = createNodeRedisConnector(${options});
       try { connector.client; } finally { await connector.close(); }`,
    );
    expect(outcome.name).toBe('ConfigurationError');
    expect(outcome.hint).toContain('npm install redis@5');
  });
});
