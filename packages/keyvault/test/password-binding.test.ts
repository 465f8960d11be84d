import { inspect } from 'node:util';
import {
  ClosedError,
  ConfigurationError,
  entraToken,
  fromKeyVaultSecret,
  type KeylessAccessToken,
  type TokenProvider,
} from '@keyless/core';
import { ManualClock, settle } from '@keyless/core/testing';
import { catchError } from '@keyless/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyVaultConnector } from '../src/index.js';
import {
  bindPasswordSource,
  type PasswordBinding,
  type PasswordBindingContext,
  type PasswordChangeEvent,
} from '../src/internal.js';
import { createKeyVaultConnectorWithInternals } from '../src/testing.js';

/**
 * The binding both password connectors log in with, without a server: a simulated vault behind
 * the real secret sources (the `getSecret` seam) and a provider that hands out the tokens a test
 * tells it to. Values are compared, never printed.
 */

const contexts: Record<'PostgreSQL' | 'Redis', Omit<PasswordBindingContext, 'tokenProvider'>> = {
  PostgreSQL: {
    service: 'PostgreSQL',
    secretNameVariable: 'KEYLESS_POSTGRES_PASSWORD_SECRET',
    defaultScope: 'https://ossrdbms-aad.database.windows.net/.default',
  },
  Redis: {
    service: 'Redis',
    secretNameVariable: 'KEYLESS_REDIS_PASSWORD_SECRET',
    defaultScope: 'https://redis.azure.com/.default',
  },
};
const services = Object.keys(contexts) as (keyof typeof contexts)[];

/** A provider that answers each scope with the next token the test queued; counts what it was asked. */
class QueuedTokens {
  readonly asked: string[] = [];
  readonly #queue: KeylessAccessToken[] = [];

  add(token: string, expiresOnTimestamp: number): void {
    this.#queue.push({
      token,
      expiresOnTimestamp,
      refreshAfterTimestamp: expiresOnTimestamp - 1000,
      tokenType: 'Bearer',
    });
  }

  readonly provider = {
    getToken: async (scope: string) => {
      this.asked.push(scope);
      const next = this.#queue.length > 1 ? this.#queue.shift() : this.#queue[0];
      if (next === undefined) throw new Error('no token queued');
      return next;
    },
  } as unknown as TokenProvider;
}

/** A vault holding one value per secret name; `reads` counts GETs. */
class SimulatedVault {
  reads = 0;
  readonly values = new Map<string, { value: string; version: string }>();
  /** Runs after each read has been answered (a rotation job acting meanwhile). */
  afterRead: (() => void) | undefined;

  set(name: string, value: string, version: string): void {
    this.values.set(name, { value, version });
  }

  readonly getSecret = async (name: string) => {
    this.reads += 1;
    const stored = this.values.get(name);
    this.afterRead?.();
    if (!stored) throw Object.assign(new Error('not found'), { name: 'RestError', statusCode: 404 });
    return { value: stored.value, properties: { version: stored.version } };
  };
}

const vaultUrl = 'https://keyless.vault.azure.net';
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const closable of open.splice(0)) await closable.close();
});

function setup() {
  const clock = new ManualClock();
  const vault = new SimulatedVault();
  vault.set('app-password', 'value-1', 'v1');
  const connector: KeyVaultConnector = createKeyVaultConnectorWithInternals(
    {
      vaultUrl,
      tokenProvider: {
        getToken: () => Promise.reject(new Error('the getSecret hook replaces the SecretClient')),
      } as unknown as TokenProvider,
    },
    { clock, random: () => 0.5, getSecret: vault.getSecret },
  );
  open.push(connector);
  let providersMade = 0;
  const tokens = new QueuedTokens();
  const bind = (source: unknown, service: keyof typeof contexts = 'PostgreSQL', environment = {}) => {
    const binding = bindPasswordSource(source, {
      ...contexts[service],
      environment,
      tokenProvider: () => {
        providersMade += 1;
        return tokens.provider;
      },
    });
    open.push(binding);
    return binding;
  };
  const changes = (binding: PasswordBinding) => {
    const seen: PasswordChangeEvent[] = [];
    binding.on('change', (event) => seen.push(event));
    return seen;
  };
  return { clock, vault, connector, tokens, bind, changes, providersMade: () => providersMade };
}

describe('binding a password source', () => {
  it.each(services)(
    '%s: refuses a missing source, or one not made by @keyless/core, naming `password`',
    (service) => {
      const { bind } = setup();
      for (const source of [undefined, null, {}, { mode: 'entra-token' }, 'hunter2']) {
        const error = catchError(() => bind(source, service)) as ConfigurationError;
        expect(error).toBeInstanceOf(ConfigurationError);
        expect(error.message).toBe(`No password source is configured for ${service} — ${error.hint}`);
        expect(error.hint).toContain('`password`');
        expect(error.hint).toContain('fromKeyVaultSecret()');
        expect(error.hint).toContain(contexts[service].secretNameVariable);
      }
    },
  );

  it.each(services)(
    "%s: the secret name comes from the source, else the connector's variable; missing, the error names both",
    (service) => {
      const { bind, connector } = setup();
      const variable = contexts[service].secretNameVariable;
      const fromSource = bind(fromKeyVaultSecret({ connector, secretName: 'app-password' }), service, {
        [variable]: 'other-password',
      });
      expect(fromSource.description).toEqual({ mode: 'key-vault-secret', secretName: 'app-password' });
      const fromEnvironment = bind(fromKeyVaultSecret({ connector }), service, {
        [variable]: ' app-password ',
      });
      expect(fromEnvironment.description).toEqual({ mode: 'key-vault-secret', secretName: 'app-password' });

      for (const environment of [{}, { [variable]: '  ' }]) {
        const error = catchError(() =>
          bind(fromKeyVaultSecret({ connector }), service, environment),
        ) as ConfigurationError;
        expect(error).toBeInstanceOf(ConfigurationError);
        expect(error.message).toContain(`No Key Vault secret name for the ${service} password is configured`);
        expect(error.hint).toBe(
          `set the option \`secretName\` or the environment variable ${variable} (fromKeyVaultSecret({ secretName }) in the option \`password\`)`,
        );
      }
    },
  );

  it('a Key Vault connector of its own: from vaultUrl, else KEYLESS_KEYVAULT_URL, and the error names both', () => {
    const { bind, providersMade } = setup();
    const error = catchError(() => bind(fromKeyVaultSecret({ secretName: 'app-password' }), 'Redis', {}));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/`vaultUrl`.*KEYLESS_KEYVAULT_URL/);
    const fromEnvironment = bind(fromKeyVaultSecret({ secretName: 'app-password' }), 'Redis', {
      KEYLESS_KEYVAULT_URL: vaultUrl,
    });
    expect(fromEnvironment.kind).toBe('key-vault-secret');
    // The vault the binding makes needs the connector's provider; made once, here, not per login.
    expect(providersMade()).toBe(2);
  });

  it('makes no provider when the application passes its Key Vault connector, one in Entra mode', () => {
    const { bind, connector, providersMade } = setup();
    bind(fromKeyVaultSecret({ connector, secretName: 'app-password' }));
    expect(providersMade()).toBe(0);
    bind(entraToken());
    expect(providersMade()).toBe(1);
  });

  it.each(services)(
    '%s: refuses a secret name Key Vault would refuse, at binding, saying where it came from',
    (service) => {
      const { bind, connector } = setup();
      const variable = contexts[service].secretNameVariable;
      const fromOption = catchError(() =>
        bind(fromKeyVaultSecret({ connector, secretName: 'not/a/name' }), service, {
          [variable]: 'app-password',
        }),
      ) as ConfigurationError;
      expect(fromOption).toBeInstanceOf(ConfigurationError);
      expect(fromOption.message).toContain('Invalid option `secretName`: expected a Key Vault secret name');
      const fromVariable = catchError(() =>
        bind(fromKeyVaultSecret({ connector }), service, { [variable]: 'app_password' }),
      ) as ConfigurationError;
      expect(fromVariable).toBeInstanceOf(ConfigurationError);
      expect(fromVariable.message).toContain(`Invalid environment variable ${variable}`);
    },
  );
});

describe('a Key Vault secret', () => {
  it('is read once and cached; a new version found by a background refresh is a change, the first value is none', async () => {
    const { bind, clock, connector, vault, changes } = setup();
    const binding = bind(
      fromKeyVaultSecret({ connector, secretName: 'app-password', refreshIntervalMs: 60_000 }),
    );
    const seen = changes(binding);
    binding.on('change', () => {
      throw new Error('a listener with a bug');
    });
    const values = await Promise.all([binding.get(), binding.get(), binding.get()]);
    expect(values.every((value) => value === 'value-1')).toBe(true);
    expect(await binding.get()).toBe('value-1');
    expect(vault.reads).toBe(1);
    expect(seen).toEqual([]);

    vault.set('app-password', 'value-2', 'v2');
    await clock.advance(60_000);
    await settle();
    expect(seen).toEqual([{ mode: 'key-vault-secret', version: 'v2' }]);
    expect(binding.latest === 'value-2').toBe(true);
    expect(binding.expiresOnTimestamp).toBeUndefined();
  });

  it('renew: the refused value is read afresh; a different cached value is taken without a read', async () => {
    const { bind, connector, vault, changes } = setup();
    const binding = bind(fromKeyVaultSecret({ connector, secretName: 'app-password' }));
    const seen = changes(binding);
    await binding.get();
    vault.set('app-password', 'value-2', 'v2');
    // Cached for five minutes: without renew() the old value keeps serving.
    expect(await binding.get()).toBe('value-1');

    expect(await binding.renew('value-1')).toBe('value-2');
    expect(vault.reads).toBe(2);
    expect(seen).toEqual([{ mode: 'key-vault-secret', version: 'v2' }]);
    // Another connection refused with the old value: the cache already holds the new one.
    expect(await binding.renew('value-1')).toBe('value-2');
    expect(vault.reads).toBe(2);
    // Not knowing which value was refused: read afresh once.
    expect(await binding.renew(undefined)).toBe('value-2');
    expect(vault.reads).toBe(3);
  });

  it('renew waits for a rotation job that changed the server before the vault', async () => {
    const { bind, connector, vault } = setup();
    const binding = bind(fromKeyVaultSecret({ connector, secretName: 'app-password' }));
    await binding.get();
    // The job stores the new version just after keyless re-reads the old one.
    vault.afterRead = () => {
      vault.afterRead = undefined;
      vault.set('app-password', 'value-2', 'v2');
    };
    expect(await binding.renew('value-1')).toBe('value-2');
    expect(vault.reads).toBe(3);
  });

  it("close() ends a renewal that waits for a rotation, and leaves the application's connector open", async () => {
    const { bind, connector, vault } = setup();
    const binding = bind(fromKeyVaultSecret({ connector, secretName: 'app-password' }));
    await binding.get();
    const renewing = binding.renew('value-1').catch((error: unknown) => error);
    while (vault.reads < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    await binding.close();
    expect(await renewing).toBeInstanceOf(ClosedError);
    await expect(binding.get()).rejects.toBeInstanceOf(ClosedError);
    expect(await connector.secret('app-password').get()).toBe('value-1');
  });

  it('a caller’s signal ends the wait too', async () => {
    const { bind, connector, vault } = setup();
    const binding = bind(fromKeyVaultSecret({ connector, secretName: 'app-password' }));
    await binding.get();
    const caller = new AbortController();
    const renewing = binding.renew('value-1', caller.signal).catch((error: unknown) => error);
    while (vault.reads < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    caller.abort();
    expect(await renewing).toBeInstanceOf(ClosedError);
  });

  it('prints the secret name, never the value', async () => {
    const { bind, connector } = setup();
    const binding = bind(fromKeyVaultSecret({ connector, secretName: 'app-password' }));
    await binding.get();
    const views = [inspect(binding, { showHidden: true, depth: 6 }), JSON.stringify(binding)];
    for (const view of views) {
      expect(view).toContain('app-password');
      expect(view.includes('value-1')).toBe(false);
    }
  });
});

describe('an Entra token', () => {
  it("asks the provider for the connector's scope, or the source's", async () => {
    const { bind, tokens } = setup();
    tokens.add('token-one', Date.now() + 3_600_000);
    await bind(entraToken(), 'Redis').get();
    await bind(entraToken({ scope: 'https://other.example.net/.default' }), 'Redis').get();
    expect(tokens.asked).toEqual(['https://redis.azure.com/.default', 'https://other.example.net/.default']);
  });

  it('gives the expiry hints; a newer token is a change, an older one never replaces it', async () => {
    const { bind, tokens, changes } = setup();
    const hour = Date.now() + 3_600_000;
    tokens.add('token-one', hour);
    tokens.add('token-two', hour + 60_000);
    tokens.add('token-stale', hour - 60_000);
    const binding = bind(entraToken());
    const seen = changes(binding);
    expect(await binding.get()).toBe('token-one');
    expect(binding.expiresOnTimestamp).toBe(hour);
    expect(binding.refreshAfterTimestamp).toBe(hour - 1000);
    expect(seen).toEqual([]);
    expect(await binding.renew('token-one')).toBe('token-two');
    expect(seen).toEqual([{ mode: 'entra-token', expiresOnTimestamp: hour + 60_000 }]);
    await binding.get();
    expect(binding.latest === 'token-two').toBe(true);
    expect(binding.expiresOnTimestamp).toBe(hour + 60_000);
    expect(seen).toHaveLength(1);
  });

  it('prints the scope, never the token', async () => {
    const { bind, tokens } = setup();
    tokens.add('token-one', Date.now() + 3_600_000);
    const binding = bind(entraToken());
    await binding.get();
    const views = [inspect(binding, { showHidden: true, depth: 6 }), JSON.stringify(binding)];
    for (const view of views) {
      expect(view).toContain('https://ossrdbms-aad.database.windows.net/.default');
      expect(view.includes('token-one')).toBe(false);
    }
  });
});
