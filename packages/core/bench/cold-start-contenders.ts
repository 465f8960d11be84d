// One fresh process of the cold-start benchmark (cold-start.ts starts it once per round per
// contender). It loads only its own contender's modules, by dynamic import, so that nothing one
// contender needs is already loaded for another; times are read from performance.now(), which
// counts from the start of this process.
// Like with like: keyless loads the token libraries' CommonJS builds (src/backends/commonjs-build.ts:
// @azure/msal-node's is one bundled file, its ES build ~120 modules), so the raw contenders load the
// same builds, the fastest way the raw library can be loaded; an application's `import` of the ES
// build costs the raw path more than that (see the README's Performance section).
import { readdirSync } from 'node:fs';
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

/** A backend's bundled chunk, `dist/chunks/msal-backend-<hash>.js` (scripts/build-package.mjs). */
const builtBackend = (name: string) => {
  const chunks = new URL('../dist/chunks/', import.meta.url);
  const file = readdirSync(chunks).find((entry) => new RegExp(`^${name}-[A-Z0-9]+\\.js$`).test(entry));
  if (!file) throw new Error(`no ${name} chunk in ${chunks.pathname}: run pnpm build`);
  return new URL(file, chunks).href;
};

/**
 * Keyless's import cost with one backend configured: the package, a provider, and the backend module
 * its first getToken loads (the library and keyless's thin wrapper around it) — the same modules, in
 * the same order, as a real process, without asking the endpoint.
 */
async function importOnly(name: (typeof importContenders)[number]): Promise<void> {
  if (name === 'raw @azure/msal-node') requireRaw('@azure/msal-node');
  else if (name === 'raw @azure/identity') requireRaw('@azure/identity');
  else {
    const backend = name === 'keyless, msal backend' ? 'msal' : 'azure-identity';
    const { createTokenProvider } = await import('@keyless/core');
    await createTokenProvider({ backend }).close();
    await import(builtBackend(backend === 'msal' ? 'msal-backend' : 'azure-identity-backend'));
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
