import { ConfigurationError } from './errors.js';

/**
 * Where a connector that logs in with a password (PostgreSQL, Redis) gets it: a Key Vault secret,
 * or an Entra token from the shared provider. One concept with one home, so an application that
 * uses both connectors writes `fromKeyVaultSecret()` / `entraToken()` once, from here. A source
 * holds names, never a value; the connector binds it (reads the environment for what is not given,
 * fetches, caches, renews) when it is created.
 */
export type PasswordSource = KeyVaultSecretPassword | EntraTokenPassword;

/** What a Key Vault secret source offers; `@keyless/keyvault`'s connector is one. */
export interface SecretReader {
  /** The cached secret source for `name` (the Key Vault connector's `secret()`). */
  secret(name: string, options?: { refreshIntervalMs?: number }): unknown;
}

/** Options of `fromKeyVaultSecret()`. */
export interface KeyVaultSecretPasswordOptions {
  /** The secret's name; else the connector's variable (`KEYLESS_POSTGRES_PASSWORD_SECRET`, `KEYLESS_REDIS_PASSWORD_SECRET`). */
  secretName?: string;
  /** e.g. https://<vault-name>.vault.azure.net — else KEYLESS_KEYVAULT_URL. Not with `connector`. */
  vaultUrl?: string;
  /** A Key Vault connector the application owns (its secret sources are shared; it stays open after the connector closes). */
  connector?: SecretReader;
  /** How long a fetched password serves before a background refresh. Default 5 minutes. */
  refreshIntervalMs?: number;
}

/** The password is a Key Vault secret: cached, refreshed, and read afresh when the server refuses it. */
export interface KeyVaultSecretPassword {
  readonly kind: 'key-vault-secret';
  readonly secretName: string | undefined;
  readonly vaultUrl: string | undefined;
  readonly connector: SecretReader | undefined;
  readonly refreshIntervalMs: number | undefined;
}

/** Options of `entraToken()`. */
export interface EntraTokenPasswordOptions {
  /** The token's scope; default the connector's (Azure Database for PostgreSQL, Azure Cache for Redis). */
  scope?: string;
}

/** The password is an Entra access token for the service, from the shared TokenProvider. */
export interface EntraTokenPassword {
  readonly kind: 'entra-token';
  /** Undefined: the connector's own scope. */
  readonly scope: string | undefined;
}

/** A password that is a Key Vault secret. Options are checked here; the environment when a connector binds it. */
export function fromKeyVaultSecret(options: KeyVaultSecretPasswordOptions = {}): KeyVaultSecretPassword {
  const given = options ?? {};
  if (given.connector !== undefined && given.vaultUrl !== undefined) {
    throw new ConfigurationError('fromKeyVaultSecret() takes `connector` or `vaultUrl`, not both', {
      hint: 'pass the Key Vault connector you already have, or the vault URL for the connector to make its own',
    });
  }
  if (given.connector !== undefined && typeof given.connector?.secret !== 'function') {
    throw new ConfigurationError('Invalid option `connector` of fromKeyVaultSecret()', {
      hint: 'pass a connector made by createKeyVaultConnector() from @keyless/keyvault',
    });
  }
  for (const name of ['secretName', 'vaultUrl'] as const) {
    const value = given[name];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) {
      throw new ConfigurationError(`Invalid option \`${name}\` of fromKeyVaultSecret()`, {
        hint: 'give a non-empty string, or leave it out to use the environment',
      });
    }
  }
  const interval = given.refreshIntervalMs;
  if (
    interval !== undefined &&
    !(typeof interval === 'number' && Number.isFinite(interval) && interval > 0)
  ) {
    throw new ConfigurationError('Invalid option `refreshIntervalMs` of fromKeyVaultSecret()', {
      hint: 'give a positive number of milliseconds (default 300000, five minutes)',
    });
  }
  return Object.freeze({
    kind: 'key-vault-secret' as const,
    secretName: given.secretName?.trim(),
    vaultUrl: given.vaultUrl?.trim(),
    connector: given.connector,
    refreshIntervalMs: interval,
  });
}

/** A password that is an Entra token for the service (the identity must be a user/role there). */
export function entraToken(options: EntraTokenPasswordOptions = {}): EntraTokenPassword {
  const scope = options?.scope;
  if (scope !== undefined && (typeof scope !== 'string' || !/^https:\/\/\S+\/\.default$/.test(scope))) {
    throw new ConfigurationError('Invalid option `scope` of entraToken()', {
      hint: 'give a resource scope ending in /.default, e.g. https://ossrdbms-aad.database.windows.net/.default',
    });
  }
  return Object.freeze({ kind: 'entra-token' as const, scope });
}

/** Whether `value` is a password source made by `fromKeyVaultSecret()` or `entraToken()`. */
export function isPasswordSource(value: unknown): value is PasswordSource {
  const kind = (value as { kind?: unknown } | null | undefined)?.kind;
  return kind === 'key-vault-secret' || kind === 'entra-token';
}
