import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as first from '../src/index.js';
import * as firstInternal from '../src/internal.js';
import * as firstTesting from '../src/testing.js';

/**
 * npm often installs @keyless/core twice (hoisted, and nested under a connector whose range it
 * satisfied differently). Here the second copy is the built package copied to another folder: its
 * own module instances, its own classes, as Node loads a nested copy. Its dependencies resolve
 * from this package's node_modules, as a nested copy's would from the application's.
 */
const copyFolder = fileURLToPath(new URL('../test-output/second-copy/', import.meta.url));
type Core = typeof import('../src/index.js');
type Internal = typeof import('../src/internal.js');
type Testing = typeof import('../src/testing.js');
let second: Core;
let secondInternal: Internal;
let secondTesting: Testing;

beforeAll(async () => {
  await rm(copyFolder, { recursive: true, force: true });
  await mkdir(copyFolder, { recursive: true });
  await cp(fileURLToPath(new URL('../dist/', import.meta.url)), `${copyFolder}dist`, { recursive: true });
  await writeFile(`${copyFolder}package.json`, JSON.stringify({ type: 'module' }));
  const load = (file: string) => import(pathToFileURL(`${copyFolder}dist/${file}`).href);
  second = await load('index.js');
  secondInternal = await load('internal.js');
  secondTesting = await load('testing.js');
});

afterAll(async () => {
  await rm(copyFolder, { recursive: true, force: true });
});

describe('two installed copies of @keyless/core', () => {
  it('really are two copies: different classes', () => {
    expect(second.ConfigurationError).not.toBe(first.ConfigurationError);
  });

  it('recognise each other’s errors: isKeylessError, instanceof by class, findKeylessError', () => {
    const error = new second.ThrottledError('slow down', { retryAfterMs: 1000 });
    expect(first.isKeylessError(error)).toBe(true);
    expect(error instanceof first.KeylessError).toBe(true);
    expect(error instanceof first.ThrottledError).toBe(true);
    expect(error instanceof first.ConfigurationError).toBe(false);
    expect(new first.ClosedError('x') instanceof second.ClosedError).toBe(true);
    const wrapped = new AggregateError([new Error('other'), new Error('outer', { cause: error })]);
    expect(first.findKeylessError(wrapped)).toBe(error);
    expect(first.isKeylessError(new Error('plain'))).toBe(false);
    expect(first.isKeylessError({ code: 'configuration' })).toBe(false);
  });

  it('share one token cache: a token one copy fetched is the other copy’s too, with one request', async () => {
    let requests = 0;
    const backend = {
      name: 'msal' as const,
      identity: { kind: 'system-assigned' as const },
      fetchToken: async () => {
        requests += 1;
        return { token: `opaque-${requests}`, expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const scope = 'https://two-copies.example/.default';
    const mine = firstTesting.createTokenProviderWithInternals({ environment: {} }, { backend });
    const theirs = secondTesting.createTokenProviderWithInternals({ environment: {} }, { backend });
    try {
      const [a, b] = await Promise.all([mine.getToken(scope), theirs.getToken(scope)]);
      expect(requests).toBe(1);
      expect(a.token).toBe(b.token);
      expect(a.expiresOnTimestamp).toBe(b.expiresOnTimestamp);
    } finally {
      await mine.close();
      await theirs.close();
    }
  });

  it('share the redaction registry: a secret one copy registered, the other scrubs', () => {
    secondInternal.registerSecretForRedaction('registered-by-the-second-copy');
    expect(firstInternal.redactKnownSecrets('login refused: registered-by-the-second-copy')).toBe(
      `login refused: ${first.REDACTED}`,
    );
  });
});
