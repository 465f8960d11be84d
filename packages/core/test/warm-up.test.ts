// provider.warmUp(scopes): the start-up / readiness step (issue 14). One token per scope, fetched
// together; what is cached costs nothing; a failure is the typed error; bad input is a
// ConfigurationError.
import { afterEach, describe, expect, it } from 'vitest';
import { AuthenticationFailedError, ConfigurationError, type TokenProvider } from '../src/index.js';
import { ManualClock } from '../src/manual-clock.js';
import { createTokenProviderWithInternals } from '../src/testing.js';
import { FakeBackend } from './support/fake-backend.js';

const storage = 'https://storage.azure.com/.default';
const vault = 'https://vault.azure.net/.default';
let providers: TokenProvider[] = [];

function setup() {
  const clock = new ManualClock();
  const backend = new FakeBackend(() => clock.now());
  const provider = createTokenProviderWithInternals(
    { environment: {} },
    { clock, backend, random: () => 0.5 },
  );
  providers.push(provider);
  return { backend, provider };
}

afterEach(async () => {
  await Promise.all(providers.map((provider) => provider.close()));
  providers = [];
});

describe('provider.warmUp(scopes)', () => {
  it('fetches one token per scope, and getToken then finds them cached', async () => {
    const { backend, provider } = setup();
    await provider.warmUp([storage, vault]);
    expect(backend.calls.map((call) => call.request.scope).sort()).toEqual([storage, vault].sort());
    await provider.getToken(storage);
    await provider.getToken(vault);
    expect(backend.calls).toHaveLength(2);
  });

  it('costs no request when the tokens are cached (a probe can call it every few seconds)', async () => {
    const { backend, provider } = setup();
    await provider.warmUp(storage);
    for (let probe = 0; probe < 5; probe += 1) await provider.warmUp(storage);
    expect(backend.calls).toHaveLength(1);
  });

  it('shares the flight with concurrent getToken callers', async () => {
    const { backend, provider } = setup();
    await Promise.all([provider.warmUp(storage), provider.getToken(storage), provider.warmUp([storage])]);
    expect(backend.calls).toHaveLength(1);
  });

  it('rejects with the typed error of a failed token request', async () => {
    const { backend, provider } = setup();
    backend.script({
      kind: 'error',
      error: new AuthenticationFailedError('the endpoint refused the identity'),
    });
    await expect(provider.warmUp([storage])).rejects.toBeInstanceOf(AuthenticationFailedError);
  });

  it('refuses an empty list and an empty scope with ConfigurationError', async () => {
    const { provider } = setup();
    await expect(provider.warmUp([])).rejects.toBeInstanceOf(ConfigurationError);
    await expect(provider.warmUp('')).rejects.toBeInstanceOf(ConfigurationError);
  });
});
