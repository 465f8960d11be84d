import { ThrottledError } from '@keyless/core';
import { createTokenProviderWithInternals, ManualClock, settle } from '@keyless/core/testing';
import { describe, expect, it } from 'vitest';
import { createKeyVaultConnectorWithInternals, type SecretGetter } from '../src/testing.js';

function setup(getSecret: SecretGetter) {
  const clock = new ManualClock();
  const tokenProvider = createTokenProviderWithInternals(
    { backend: 'msal', environment: {} },
    {
      clock,
      backend: {
        name: 'msal',
        identity: { kind: 'system-assigned' },
        fetchToken: () => Promise.reject(new Error('the getSecret hook replaces the SecretClient')),
      },
    },
  );
  const connector = createKeyVaultConnectorWithInternals(
    { vaultUrl: 'https://fleet.vault.azure.net', tokenProvider },
    { clock, random: () => 0.5, getSecret },
  );
  return { clock, connector };
}

describe('internal getSecret hook (the fleet simulation drives real secret sources with it)', () => {
  it('serves what the hook answers, refreshing through it on the interval', async () => {
    const answers = [
      { value: 'first-value', properties: { version: 'one' } },
      { value: 'second-value', properties: { version: 'two' } },
    ];
    const asked: Array<{ name: string; version: string | undefined }> = [];
    const { clock, connector } = setup(async (name, options) => {
      asked.push({ name, version: options.version });
      return answers[Math.min(asked.length - 1, answers.length - 1)] as (typeof answers)[number];
    });
    const source = connector.secret('app-setting', { refreshIntervalMs: 60_000 });
    expect(await source.get()).toBe('first-value');
    await clock.advance(60_000);
    await settle();
    expect(await source.get()).toBe('second-value');
    expect(source.version).toBe('two');
    expect(asked).toEqual([
      { name: 'app-setting', version: undefined },
      { name: 'app-setting', version: undefined },
    ]);
    await connector.close();
  });

  it("maps what the hook throws like the SDK's errors: 429 with Retry-After becomes ThrottledError", async () => {
    const { connector } = setup(() =>
      Promise.reject(
        Object.assign(new Error('Too many requests'), {
          name: 'RestError',
          statusCode: 429,
          response: { headers: { get: (header: string) => (header === 'retry-after' ? '7' : undefined) } },
        }),
      ),
    );
    const error = await connector
      .secret('postgres-password')
      .get()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 7000 });
    await connector.close();
  });

  it('goes again at once only for a connection reset before any answer, never for an answered failure', async () => {
    const reset = Object.assign(new Error('socket hang up'), { name: 'RestError', code: 'ECONNRESET' });
    const answered = Object.assign(new Error('Service Unavailable'), { name: 'RestError', statusCode: 503 });
    for (const failure of [reset, answered]) {
      let calls = 0;
      const { connector } = setup(async () => {
        calls += 1;
        if (calls === 1) throw failure;
        return { value: 'second-try', properties: { version: 'one' } };
      });
      const outcome = await connector
        .secret('app-setting')
        .get()
        .catch((caught: unknown) => caught);
      if (failure === reset) {
        expect(outcome).toBe('second-try');
        expect(calls).toBe(2);
      } else {
        expect(outcome).toMatchObject({ code: 'unavailable', status: 503 });
        expect(calls).toBe(1);
      }
      await connector.close();
    }
  });

  it('does not call the hook after close()', async () => {
    let calls = 0;
    const { connector } = setup(async () => {
      calls += 1;
      return { value: 'unused', properties: { version: 'one' } };
    });
    const source = connector.secret('app-setting');
    await connector.close();
    await expect(source.get()).rejects.toMatchObject({ code: 'closed' });
    expect(calls).toBe(0);
  });
});
