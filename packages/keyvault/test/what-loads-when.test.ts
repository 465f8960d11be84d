// What a process loads, checked in child processes against the built package (dist, as an
// application gets it): the password binding of @keyless/keyvault/internal (what the PostgreSQL and
// Redis connectors log in with) loads @azure/keyvault-secrets only when a secret is first fetched —
// never in Entra-token mode — and the package root when a client is first needed (a secret read,
// connect(), or the `client` getter); a missing SDK is a ConfigurationError naming it (issue 11).
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const builtFolder = fileURLToPath(new URL('../dist/', import.meta.url));
const coreFolder = fileURLToPath(new URL('../../core/', import.meta.url));
const sdk = '@azure/keyvault-secrets';

/**
 * Runs `body` as an ES module after a resolve hook that records every module URL the process
 * resolves; `mark(name)` snapshots the list so far. Prints what the body returned and the snapshots.
 */
async function runRecordingLoads(body: string, environment: Record<string, string> = {}) {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    const marks = {};
    registerHooks({
      resolve(specifier, context, nextResolve) {
        const result = nextResolve(specifier, context);
        loaded.push(result.url);
        return result;
      },
    });
    const mark = (name) => { marks[name] = [...loaded]; };
    const run = async () => { ${body} };
    const result = await run();
    console.log(JSON.stringify({ ...result, marks }));
  `;
  const child = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '', ...environment },
  });
  expect(child.stderr).toBe('');
  return JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as {
    marks: Record<string, string[]>;
    [key: string]: unknown;
  };
}

const loadedPackage = (loaded: string[] | undefined, name: string) =>
  (loaded ?? []).some((url) => url.includes(`/node_modules/${name}/`));

const bindBoth = (internalEntry: string) => `
  const { entraToken, fromKeyVaultSecret } = await import('@keyless/core');
  const { bindPasswordSource } = await import(${JSON.stringify(internalEntry)});
  const context = (service) => ({
    service,
    secretNameVariable: 'UNUSED_SECRET_VARIABLE',
    defaultScope: 'https://ossrdbms-aad.database.windows.net/.default',
    tokenProvider: () => ({ getToken: async () => null, close: async () => {} }),
  });
  const entra = bindPasswordSource(entraToken(), context('PostgreSQL'));
  const secret = bindPasswordSource(
    fromKeyVaultSecret({ vaultUrl: 'https://vault.vault.azure.net', secretName: 'pg' }),
    context('Redis'),
  );
`;

describe('what @keyless/keyvault loads before the first secret', () => {
  it('the password binding (/internal): no Key Vault SDK in either mode until a secret is read', async () => {
    const { marks } = await runRecordingLoads(`
      ${bindBoth(join(builtFolder, 'internal.js'))}
      mark('bound');
      await entra.close();
      await secret.close();
      return {};
    `);
    expect(marks.bound?.some((url) => url.endsWith('/keyvault/dist/internal.js'))).toBe(true);
    expect(loadedPackage(marks.bound, sdk)).toBe(false);
    // Nor a token library: the provider loads its backend at the first token (core's own test).
    expect(loadedPackage(marks.bound, '@azure/identity')).toBe(false);
    expect(loadedPackage(marks.bound, '@azure/msal-node')).toBe(false);
  });

  it('the package root: no SDK at import or from the factory; the synchronous `client` getter loads it', async () => {
    const { marks, clientName } = await runRecordingLoads(`
      const { createKeyVaultConnector } = await import(${JSON.stringify(join(builtFolder, 'index.js'))});
      const connector = createKeyVaultConnector({
        vaultUrl: 'https://vault.vault.azure.net',
        tokenProvider: { getToken: async () => null, close: async () => {} },
      });
      connector.secret('some-secret');
      mark('created');
      const clientName = connector.client.constructor.name;
      mark('client');
      await connector.close();
      return { clientName };
    `);
    expect(loadedPackage(marks.created, sdk)).toBe(false);
    expect(loadedPackage(marks.client, sdk)).toBe(true);
    expect(clientName).toBe('SecretClient');
  });
});

describe('the first secret read through the binding', () => {
  let stack: LocalAzure;

  beforeAll(async () => {
    stack = await startLocalAzure({
      services: ['keyvault'],
      stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER,
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('loads the SDK then, and reads the secret with it', async () => {
    const result = await runRecordingLoads(
      `
      const { createTokenProvider, fromKeyVaultSecret } = await import('@keyless/core');
      const { bindPasswordSource } = await import(${JSON.stringify(join(builtFolder, 'internal.js'))});
      const provider = createTokenProvider();
      const secret = bindPasswordSource(fromKeyVaultSecret({ secretName: 'demo-message' }), {
        service: 'PostgreSQL',
        secretNameVariable: 'UNUSED_SECRET_VARIABLE',
        defaultScope: 'https://ossrdbms-aad.database.windows.net/.default',
        tokenProvider: () => provider,
      });
      mark('bound');
      const value = await secret.get();
      mark('read');
      await secret.close();
      await provider.close();
      return { read: value.length > 0 };
    `,
      {
        ...stack.env,
        AZURE_CLIENT_ID: stack.appIdentity.clientId,
        NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '',
      },
    );
    expect(result.read).toBe(true);
    expect(loadedPackage(result.marks.bound, sdk)).toBe(false);
    expect(loadedPackage(result.marks.read, sdk)).toBe(true);
  });
});

describe('a Key Vault SDK that cannot be found', () => {
  // A copy of dist whose only neighbour is @keyless/core: what an install without the peer looks like.
  let folder: string;

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'keyless-keyvault-without-sdk-'));
    cpSync(builtFolder, join(folder, 'dist'), { recursive: true });
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'pruned', type: 'module' }));
    mkdirSync(join(folder, 'node_modules', '@keyless'), { recursive: true });
    symlinkSync(coreFolder, join(folder, 'node_modules', '@keyless', 'core'), 'dir');
  });

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('Entra mode still works; the first secret read is a ConfigurationError naming the package', async () => {
    const result = await runRecordingLoads(`
      const { ConfigurationError } = await import('@keyless/core');
      ${bindBoth(join(folder, 'dist/internal.js'))}
      const error = await secret.get().then(() => undefined, (caught) => caught);
      await entra.close();
      await secret.close();
      return {
        isConfigurationError: error instanceof ConfigurationError,
        message: String(error?.message),
        hint: String(error?.hint),
      };
    `);
    expect(result.isConfigurationError).toBe(true);
    expect(result.message).toContain(sdk);
    expect(result.hint).toContain(`npm install ${sdk}`);
  });
});
