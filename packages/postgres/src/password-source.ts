import { setTimeout as delay } from 'node:timers/promises';
import { ConfigurationError, type TokenProvider } from '@keyless/core';
import { registerSecretForRedaction } from '@keyless/core/internal';
import { createKeyVaultConnector, type KeyVaultConnector, type SecretSource } from '@keyless/keyvault';

export const entraScope = 'https://ossrdbms-aad.database.windows.net/.default';
export const passwordSecretVariable = 'KEYLESS_POSTGRES_PASSWORD_SECRET';

/** Where the password comes from: a Key Vault secret, or an Entra token. */
export type PostgresPasswordMode = 'key-vault-secret' | 'entra-token';

/** Options of `fromKeyVaultSecret()`: a vault URL (or the environment), or an existing Key Vault connector. */
export type KeyVaultSecretOptions =
  | {
      /** e.g. https://<vault-name>.vault.azure.net — else env KEYLESS_KEYVAULT_URL. */
      vaultUrl?: string;
      /** Else env KEYLESS_POSTGRES_PASSWORD_SECRET. */
      secretName?: string;
      /** How long a fetched password serves before a background refresh. Default 5 minutes. */
      refreshIntervalMs?: number;
    }
  | {
      /** An existing connector (its provider and lifetime stay yours). */
      connector: KeyVaultConnector;
      secretName?: string;
      refreshIntervalMs?: number;
    };

/**
 * Where the pool's password comes from. Made by `fromKeyVaultSecret()` or `entraToken()`; it holds
 * names, never a value, and is bound to a connector by `createPostgresConnector`.
 */
export type PostgresPasswordSource =
  | {
      readonly mode: 'key-vault-secret';
      readonly secretName: string | undefined;
      readonly vaultUrl: string | undefined;
      readonly connector: KeyVaultConnector | undefined;
      readonly refreshIntervalMs: number | undefined;
    }
  | { readonly mode: 'entra-token'; readonly scope: string };

/** Secret mode: the password is a Key Vault secret, cached, refreshed, and re-read when the server refuses it. */
export function fromKeyVaultSecret(options: KeyVaultSecretOptions = {}): PostgresPasswordSource {
  const connector = 'connector' in options ? options.connector : undefined;
  const vaultUrl = 'vaultUrl' in options ? options.vaultUrl : undefined;
  return Object.freeze({
    mode: 'key-vault-secret' as const,
    secretName: options.secretName,
    vaultUrl,
    connector,
    refreshIntervalMs: options.refreshIntervalMs,
  });
}

/** Entra mode: the password is a token for Azure Database for PostgreSQL from the shared provider. */
export function entraToken(options: { scope?: string } = {}): PostgresPasswordSource {
  const scope = options.scope ?? entraScope;
  if (typeof scope !== 'string' || !/^https:\/\/\S+\/\.default$/.test(scope)) {
    throw new ConfigurationError('Invalid option `scope` of entraToken()', {
      hint: `give a resource scope ending in /.default, e.g. ${entraScope}`,
    });
  }
  return Object.freeze({ mode: 'entra-token' as const, scope });
}

/** A password source bound to one connector: what the pool calls per new connection. */
export interface PasswordStrategy {
  readonly mode: PostgresPasswordMode;
  /** For messages and inspect views: names only. */
  readonly description: Record<string, string>;
  password(): Promise<string>;
  /**
   * The server refused `refused` (28P01): make the next password() a fresh one. Returns once a
   * value other than the refused one is cached, or after a short wait (at most the sum of
   * `renewDelaysMs`) for a rotation job that has changed the server but not yet stored the new
   * version (or the reverse). `signal` (the pool closing) ends the wait at once.
   */
  renew(refused: string | undefined, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Delays between re-reads of a secret that still holds the refused value: 1.75 s in all. */
export const renewDelaysMs: readonly number[] = [250, 500, 1000];

export function bindPasswordSource(
  source: PostgresPasswordSource,
  tokenProvider: () => TokenProvider,
  environment: Readonly<Record<string, string | undefined>>,
): PasswordStrategy {
  if (source === null || typeof source !== 'object' || !('mode' in source)) {
    throw new ConfigurationError('Missing option `password`', {
      hint: 'pass `password: fromKeyVaultSecret({ secretName })` (secret mode) or `password: entraToken()` (Entra mode)',
    });
  }
  if (source.mode === 'entra-token') {
    const provider = tokenProvider();
    let lastToken = '';
    return {
      mode: 'entra-token',
      description: { mode: 'entra-token', scope: source.scope },
      async password() {
        const { token } = await provider.getToken(source.scope);
        if (token !== lastToken) {
          lastToken = token;
          registerSecretForRedaction(token);
        }
        return token;
      },
      // A token is fresh by construction (the provider never hands out one near expiry).
      async renew() {},
      async close() {},
    };
  }
  const secretName = source.secretName ?? environment[passwordSecretVariable]?.trim();
  if (secretName === undefined || secretName === '') {
    throw new ConfigurationError('No Key Vault secret name is configured for the PostgreSQL password', {
      hint: `set \`secretName\` in fromKeyVaultSecret({ secretName }) or the environment variable ${passwordSecretVariable}`,
    });
  }
  const ownsVault = source.connector === undefined;
  const vault =
    source.connector ??
    createKeyVaultConnector({
      ...(source.vaultUrl === undefined ? {} : { vaultUrl: source.vaultUrl }),
      tokenProvider: tokenProvider(),
    });
  const secret: SecretSource = vault.secret(
    secretName,
    source.refreshIntervalMs === undefined ? {} : { refreshIntervalMs: source.refreshIntervalMs },
  );
  return {
    mode: 'key-vault-secret',
    description: { mode: 'key-vault-secret', secretName },
    password: () => secret.get(),
    async renew(refused, signal) {
      // Another connection may have re-read it already: a different cached value is the fresh one.
      const cached = await secret.get().catch(() => undefined);
      if (refused !== undefined && cached !== undefined && cached !== refused) return;
      secret.invalidate();
      for (const delayMs of renewDelaysMs) {
        const fresh = await secret.get();
        if (refused === undefined || fresh !== refused) return;
        // A caller is waiting for this connect: the wait keeps the process alive (an unref'd timer
        // let a one-off script exit 0 with its query never settled), and close() aborts it.
        await delay(delayMs, undefined, { signal });
        secret.invalidate();
      }
    },
    async close() {
      if (ownsVault) await vault.close();
    },
  };
}
