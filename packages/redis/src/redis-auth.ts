import { ConfigurationError, resolveSetting } from '@keyless/core';
import type { KeyVaultConnector } from '@keyless/keyvault';
import { z } from 'zod';

/** Azure Cache for Redis's Entra audience. */
export const redisEntraScope = 'https://redis.azure.com/.default';
export const redisUserVariable = 'KEYLESS_REDIS_USER';
export const redisEntraUserVariable = 'KEYLESS_REDIS_ENTRA_USER';

/** Password mode: the password is a Key Vault secret, read through a cached secret source. */
export interface KeyVaultSecretAuth {
  readonly kind: 'key-vault-secret';
  readonly secretName: string;
  /** The ACL user; undefined authenticates as Redis's `default` user (access keys). */
  readonly username: string | undefined;
  /** When given, the connector builds (and closes) its own Key Vault connector for this vault. */
  readonly vaultUrl: string | undefined;
  /** A Key Vault connector the application owns; it is left open by `close()`. */
  readonly connector: KeyVaultConnector | undefined;
}

/** Entra mode: user = the identity's object id, password = an access token for Redis. */
export interface EntraTokenAuth {
  readonly kind: 'entra-token';
  readonly objectId: string;
  readonly scope: string;
}

/** How the connector authenticates: made by `fromKeyVaultSecret()` or `entraToken()`. */
export type RedisAuth = KeyVaultSecretAuth | EntraTokenAuth;

const nameSchema = z.string({ error: 'expected a non-empty string' }).trim().min(1, 'must not be empty');

/** Options of `fromKeyVaultSecret()`: the secret, the ACL user, and a vault URL or an existing connector. */
export type FromKeyVaultSecretOptions =
  | { vaultUrl?: string; secretName: string; username?: string }
  | { connector: KeyVaultConnector; secretName: string; username?: string };

/**
 * The Redis password is the Key Vault secret `secretName`. The user is `username`, else the
 * environment variable KEYLESS_REDIS_USER, else Redis's `default` user (Azure's access keys).
 * The vault is `vaultUrl`, else KEYLESS_KEYVAULT_URL, unless a connector is passed.
 */
export function fromKeyVaultSecret(options: FromKeyVaultSecretOptions): RedisAuth {
  const secretName = resolveSetting(nameSchema, { option: 'secretName', value: options?.secretName });
  if (secretName.value === undefined) {
    throw new ConfigurationError('No Key Vault secret name for the Redis password', {
      hint: 'set the option `secretName` of fromKeyVaultSecret() (`keyless-local up` seeds `redis-password`)',
    });
  }
  const username = resolveSetting(nameSchema, {
    option: 'username',
    value: options.username,
    variables: [redisUserVariable],
  });
  const connector = 'connector' in options ? options.connector : undefined;
  const vaultUrl = 'vaultUrl' in options ? options.vaultUrl : undefined;
  return Object.freeze({
    kind: 'key-vault-secret',
    secretName: secretName.value,
    username: username.value,
    vaultUrl,
    connector,
  });
}

/**
 * Entra ID authentication: `AUTH <objectId> <token>`. The object id comes from configuration
 * (`objectId`, else KEYLESS_REDIS_ENTRA_USER) and is never read out of the token: the user must be
 * the one the cache's data access policy assignment names.
 */
export function entraToken(options: { objectId?: string; scope?: string } = {}): RedisAuth {
  const objectId = resolveSetting(nameSchema, {
    option: 'objectId',
    value: options.objectId,
    variables: [redisEntraUserVariable],
  });
  if (objectId.value === undefined) {
    throw new ConfigurationError('No Redis Entra user (object id) is configured', {
      hint: `set the option \`objectId\` of entraToken() or the environment variable ${redisEntraUserVariable} to the object (principal) id of the managed identity; keyless never reads it out of the token`,
    });
  }
  const scope = resolveSetting(
    z.string().regex(/^https:\/\/\S+$/, 'expected a scope such as https://redis.azure.com/.default'),
    { option: 'scope', value: options.scope },
  );
  return Object.freeze({
    kind: 'entra-token',
    objectId: objectId.value,
    scope: scope.value ?? redisEntraScope,
  });
}
