// One fresh process of the cold-start benchmark (cold-start.ts starts it once per round per
// contender). It loads only its own contender's modules, by dynamic import, so that nothing one
// contender needs is already loaded for another; times are read from performance.now(), which
// counts from the start of this process.
// Like with like: keyless loads the token libraries' CommonJS builds (src/backends/commonjs-build.ts:
// @azure/msal-node's is one bundled file, its ES build ~120 modules), so the raw contenders load the
// same builds, the fastest way the raw library can be loaded; an application's `import` of the ES
// build costs the raw path more than that (see the README's Performance section).
import { createRequire } from 'node:module';
export const importContenders = [
  'raw @azure/msal-node',
  'keyless, msal backend',
  'raw @azure/identity',
  'keyless, azure-identity backend',
] as const;
export const firstTokenContenders = [
  'raw ManagedIdentityApplication',
  'keyless, msal backend',
  'raw ManagedIdentityCredential',
  'keyless, azure-identity backend',
] as const;

export interface ColdSample {
  /** ms spent in the import(s) the contender needs, measured around them. */
  importMs: number;
  /** ms from the start of the process to the first token in hand (0 for import-only contenders). */
  firstTokenMs: number;
  /**
   * CPU time (user + system) the process had used at that point: what a busy machine disturbs far
   * less than wall time, so it shows a difference the wall-clock medians may hide.
   */
  cpuMs: number;
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const scope = 'https://storage.azure.com/.default';
/** The raw library's CommonJS build, from where @keyless/core finds it (the same copy keyless loads). */
const requireRaw = <Library>(name: string): Library =>
  createRequire(new URL('../dist/index.js', import.meta.url))(name) as Library;

/**
 * Keyless's import cost with one backend configured: the package, a provider, and what its first
 * getToken loads — without asking the endpoint. The backend's own code is compiled as part of
 * dist/chunks/implementation.js (scripts/build-package.mjs) and its first run is the library load,
 * `requireCommonJsBuild` from core's folder (src/backends/commonjs-build.ts): that load, made the
 * same way, stands for it.
 */
async function importOnly(name: (typeof importContenders)[number]): Promise<void> {
  if (name === 'raw @azure/msal-node') requireRaw('@azure/msal-node');
  else if (name === 'raw @azure/identity') requireRaw('@azure/identity');
  else {
    const backend = name === 'keyless, msal backend' ? 'msal' : 'azure-identity';
    const { createTokenProvider } = await import('@keyless/core');
    await createTokenProvider({ backend }).close();
    requireRaw(backend === 'msal' ? '@azure/msal-node' : '@azure/identity');
  }
}

async function firstToken(name: (typeof firstTokenContenders)[number]): Promise<ColdSample> {
  const started = performance.now();
  if (name === 'raw ManagedIdentityApplication') {
    const { ManagedIdentityApplication } = requireRaw<typeof import('@azure/msal-node')>('@azure/msal-node');
    const importMs = performance.now() - started;
    const result = await new ManagedIdentityApplication().acquireToken({
      resource: scope.replace('/.default', ''),
    });
    if (!result.accessToken) throw new Error('no token');
    return { importMs, firstTokenMs: performance.now(), cpuMs: cpuMs() };
  }
  if (name === 'raw ManagedIdentityCredential') {
    const { ManagedIdentityCredential } = requireRaw<typeof import('@azure/identity')>('@azure/identity');
    const importMs = performance.now() - started;
    const result = await new ManagedIdentityCredential().getToken(scope);
    if (!result.token) throw new Error('no token');
    return { importMs, firstTokenMs: performance.now(), cpuMs: cpuMs() };
  }
  const { createTokenProvider } = await import('@keyless/core');
  const importMs = performance.now() - started;
  const provider = createTokenProvider({
    backend: name === 'keyless, msal backend' ? 'msal' : 'azure-identity',
  });
  const token = await provider.getToken(scope);
  if (!token.token) throw new Error('no token');
  const firstTokenMs = performance.now();
  const cpu = cpuMs();
  await provider.close();
  return { importMs, firstTokenMs, cpuMs: cpu };
}

if (process.argv[2] === '--import') {
  const started = performance.now();
  await importOnly(process.argv[3] as (typeof importContenders)[number]);
  const sample: ColdSample = { importMs: performance.now() - started, firstTokenMs: 0, cpuMs: cpuMs() };
  process.stdout.write(`${JSON.stringify(sample)}\n`);
} else if (process.argv[2] === '--first-token') {
  const sample = await firstToken(process.argv[3] as (typeof firstTokenContenders)[number]);
  process.stdout.write(`${JSON.stringify(sample)}\n`);
}
