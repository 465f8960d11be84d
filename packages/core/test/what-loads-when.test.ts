// What a process loads, checked in child processes against the built package (dist): importing
// @keyless/core and building a provider loads neither token library nor any schema library; the
// first token loads the configured backend's library (its CommonJS build) and never the other one's; a library that
// cannot be found is a ConfigurationError that names it and the install command (issue 11).
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ensureLocalCertificateAuthority,
  type IdentityEndpoint,
  startIdentityEndpoint,
} from '@keyless/local-azure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const builtFolder = fileURLToPath(new URL('../dist/', import.meta.url));
const builtEntry = join(builtFolder, 'index.js');
const storageScope = 'https://storage.azure.com/.default';

/**
 * Runs `body` as an ES module after a resolve hook (Node's module.registerHooks) that records
 * every module URL the process resolves; prints `{ loaded, ...whatBodyReturned }` as JSON.
 * Asynchronous: the identity endpoint runs in this process and must keep answering.
 */
async function runRecordingLoads(body: string, environment: Record<string, string> = {}) {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = new Set();
    registerHooks({
      resolve(specifier, context, nextResolve) {
        const result = nextResolve(specifier, context);
        loaded.add(result.url);
        return result;
      },
    });
    const run = async () => { ${body} };
    const result = await run();
    console.log(JSON.stringify({ ...result, loaded: [...loaded] }));
  `;
  const child = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
    // Only what the script needs: no identity variables unless a test passes them.
    env: { PATH: process.env.PATH ?? '', ...environment },
  });
  expect(child.stderr).toBe('');
  const output = JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as {
    loaded: string[];
    [key: string]: unknown;
  };
  return output;
}

const loadedPackage = (loaded: string[], name: string) =>
  loaded.some((url) => url.includes(`/node_modules/${name}/`));
/** The file's path inside its package: `lib/msal-node.cjs`. */
const libraryFile = (url: string) => url.replace(/^.*\/node_modules\/(@[^/]+\/)?[^/]+\//, '');
const keylessFiles = (loaded: string[]) =>
  loaded
    .filter((url) => url.startsWith('file:') && url.includes('/core/dist/'))
    .map((url) => url.replace(/^.*\/core\/dist\//, ''));
/**
 * Every file of keyless a process loads, from the import to the first token: the entry point and the
 * implementation it re-exports (scripts/build-package.mjs). A backend's code is in the latter, run
 * at the first token; no backend, helper or chunk comes as a file of its own (~25 files with tsc's
 * output, 7 with esbuild's code splitting, each costing a resolve, a read and a compile).
 */
const bundledFiles = ['index.js', 'chunks/implementation.js'];

describe('what importing @keyless/core loads', () => {
  it('neither token library nor zod, even after building a provider for each backend', async () => {
    const { loaded } = await runRecordingLoads(`
      const { createTokenProvider } = await import(${JSON.stringify(builtEntry)});
      await createTokenProvider({ backend: 'msal' }).close();
      await createTokenProvider({ backend: 'azure-identity' }).close();
      return {};
    `);
    expect(keylessFiles(loaded)).toEqual(bundledFiles);
    for (const name of ['@azure/msal-node', '@azure/identity', 'zod']) {
      expect(loadedPackage(loaded, name), name).toBe(false);
    }
  });
});

describe('what the first token loads', () => {
  let endpoint: IdentityEndpoint;

  beforeAll(async () => {
    endpoint = await startIdentityEndpoint();
  });

  afterAll(async () => {
    await endpoint?.stop();
  });

  const firstToken = (backend: string) =>
    runRecordingLoads(
      `
      const { createTokenProvider } = await import(${JSON.stringify(builtEntry)});
      const provider = createTokenProvider({ backend: ${JSON.stringify(backend)} });
      const token = await provider.getToken(${JSON.stringify(storageScope)});
      await provider.close();
      return { gotToken: token.token.length > 0 };
    `,
      endpoint.appServiceEnvironment(),
    );

  it('msal: @azure/msal-node, and never @azure/identity', async () => {
    const { loaded, gotToken } = await firstToken('msal');
    expect(gotToken).toBe(true);
    expect(loadedPackage(loaded, '@azure/msal-node')).toBe(true);
    // Its CommonJS build, one bundled file, not the ~120 modules of its ES build (commonjs-build.ts).
    expect(loaded.filter((url) => url.includes('/node_modules/@azure/msal-node/')).map(libraryFile)).toEqual([
      'lib/msal-node.cjs',
    ]);
    expect(loadedPackage(loaded, '@azure/msal-common')).toBe(false);
    // No OpenTelemetry SDK registered: the optional API is not even loaded (telemetry/open-telemetry-api.ts).
    expect(loadedPackage(loaded, '@opentelemetry/api')).toBe(false);
    expect(loadedPackage(loaded, '@azure/identity')).toBe(false);
    expect(keylessFiles(loaded)).toEqual(bundledFiles);
  });

  it('azure-identity: @azure/identity, and never keyless’s msal backend', async () => {
    // @azure/identity itself builds on @azure/msal-node, so only our own msal module can be absent.
    const { loaded, gotToken } = await firstToken('azure-identity');
    expect(gotToken).toBe(true);
    expect(loadedPackage(loaded, '@azure/identity')).toBe(true);
    expect(keylessFiles(loaded)).toEqual(bundledFiles);
    // The CommonJS builds, and one copy of the pipeline: no ES module of either library loads.
    const esModules = loaded.filter(
      (url) =>
        /\/node_modules\/@azure\/(identity|core-rest-pipeline|msal-node)\//.test(url) &&
        /\/(esm\/|index\.mjs$)/.test(url),
    );
    expect(esModules).toEqual([]);
    expect(loaded.filter((url) => url.includes('/node_modules/@azure/msal-node/')).map(libraryFile)).toEqual([
      'lib/msal-node.cjs',
    ]);
  });
});

describe('a backend library that cannot be found', () => {
  // A copy of dist with no node_modules beside it: what a pruned or badly bundled install looks like.
  let folder: string;

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'keyless-core-without-libraries-'));
    cpSync(builtFolder, join(folder, 'dist'), { recursive: true });
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'pruned', type: 'module' }));
  });

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it.each([
    ['msal', '@azure/msal-node'],
    ['azure-identity', '@azure/identity'],
  ])(
    '%s: importing and building still work; the first token is a ConfigurationError naming %s',
    async (backend, library) => {
      const result = await runRecordingLoads(`
      const { createTokenProvider, ConfigurationError } = await import(${JSON.stringify(join(folder, 'dist/index.js'))});
      const provider = createTokenProvider({ backend: ${JSON.stringify(backend)} });
      const error = await provider.getToken(${JSON.stringify(storageScope)}).then(() => undefined, (caught) => caught);
      await provider.close();
      return {
        isConfigurationError: error instanceof ConfigurationError,
        code: error?.code,
        message: error?.message,
        hint: error?.hint,
      };
    `);
      expect(result.isConfigurationError).toBe(true);
      expect(result.code).toBe('configuration');
      expect(result.message).toContain(`The ${backend} backend needs ${library}, which could not be found`);
      expect(result.hint).toContain(`npm install ${library}`);
    },
  );
});

describe('what the first token loads on AKS (workload identity)', () => {
  let endpoint: IdentityEndpoint;
  let stateFolder: string;
  let caPath: string;

  beforeAll(async () => {
    stateFolder = mkdtempSync(join(tmpdir(), 'keyless-loads-aks-'));
    const authority = await ensureLocalCertificateAuthority(stateFolder);
    caPath = authority.caCertificatePath;
    endpoint = await startIdentityEndpoint({
      workloadIdentity: {
        tls: { cert: authority.serverCertificate, key: authority.serverKey },
        tokenFilePath: join(stateFolder, 'azure-identity-token'),
      },
    });
  });

  afterAll(async () => {
    await endpoint?.stop();
    rmSync(stateFolder, { recursive: true, force: true });
  });

  const firstToken = (backend: string) =>
    runRecordingLoads(
      `
      const { createTokenProvider } = await import(${JSON.stringify(builtEntry)});
      const provider = createTokenProvider({ backend: ${JSON.stringify(backend)} });
      const token = await provider.getToken(${JSON.stringify(storageScope)});
      await provider.close();
      return { gotToken: token.token.length > 0 };
    `,
      // The child trusts the local CA from its first instruction, as an app started by keyless-local does.
      { ...endpoint.workloadIdentity?.environment(), NODE_EXTRA_CA_CERTS: caPath },
    );

  it('msal: the workload-identity backend over @azure/msal-node, and never @azure/identity', async () => {
    const { loaded, gotToken } = await firstToken('msal');
    expect(gotToken).toBe(true);
    expect(keylessFiles(loaded)).toEqual(bundledFiles);
    expect(loaded.filter((url) => url.includes('/node_modules/@azure/msal-node/')).map(libraryFile)).toEqual([
      'lib/msal-node.cjs',
    ]);
    expect(loadedPackage(loaded, '@azure/identity')).toBe(false);
  });

  it('azure-identity: @azure/identity, and neither of keyless’s msal backends', async () => {
    const { loaded, gotToken } = await firstToken('azure-identity');
    expect(gotToken).toBe(true);
    expect(loadedPackage(loaded, '@azure/identity')).toBe(true);
    expect(keylessFiles(loaded)).toEqual(bundledFiles);
  });
});
