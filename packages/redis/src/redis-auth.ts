import { ConfigurationError, type Environment } from '@keyless/core';
import { requireSetting, resolveSetting } from '@keyless/core/internal';
import type { KeyVaultConnector } from '@keyless/keyvault';
import { z } from 'zod';

/** Azure Cache for Redis's Entra audience. */
export const redisEntraScope = 'https://redis.azure.com/.default';
export const redisUserVariable = 'KEYLESS_REDIS_USER';
export const redisEntraUserVariable = 'KEYLESS_REDIS_ENTRA_USER';
export const redisPasswordSecretVariable = 'KEYLESS_REDIS_PASSWORD_SECRET';

/**
 * Password mode: the password is a Key Vault secret, read through a cached secret source. It holds
 * what was given in code; the environment fills the rest when `createRedisConnector` uses it.
 */
export interface KeyVaultSecretAuth {
  readonly kind: 'key-vault-secret';
  /** The secret's name; undefined: KEYLESS_REDIS_PASSWORD_SECRET when the connector is created. */
  readonly secretName: string | undefined;
  /** The ACL user; undefined: KEYLESS_REDIS_USER, else Redis's `default` user (access keys). */
  readonly username: string | undefined;
  /** When given, the connector builds (and closes) its own Key Vault connector for this vault. */
  readonly vaultUrl: string | undefined;
  /** A Key Vault connector the application owns; it is left open by `close()`. */
  readonly connector: KeyVaultConnector | undefined;
}

/** Entra mode: user = the identity's object id, password = an access token for Redis. */
export interface EntraTokenAuth {
  readonly kind: 'entra-token';
  /** The identity's object id; undefined: KEYLESS_REDIS_ENTRA_USER when the connector is created. */
  readonly objectId: string | undefined;
  readonly scope: string;
}

/** How the connector authenticates: made by `fromKeyVaultSecret()` or `entraToken()`. */
export type RedisAuth = KeyVaultSecretAuth | EntraTokenAuth;

const nameSchema = z.string({ error: 'expected a non-empty string' }).trim().min(1, 'must not be empty');

/** Options of `fromKeyVaultSecret()`: the secret, the ACL user, and a vault URL or an existing connector. */
export type FromKeyVaultSecretOptions =
  | {
      /** e.g. https://<vault-name>.vault.azure.net — else env KEYLESS_KEYVAULT_URL. */
      vaultUrl?: string;
      /** Else env KEYLESS_REDIS_PASSWORD_SECRET. */
      secretName?: string;
      /** Else env KEYLESS_REDIS_USER, else Redis's `default` user. */
      username?: string;
    }
  | { connector: KeyVaultConnector; secretName?: string; username?: string };

/**
 * The Redis password is a Key Vault secret: `secretName`, else KEYLESS_REDIS_PASSWORD_SECRET. The
 * user is `username`, else KEYLESS_REDIS_USER, else Redis's `default` user (Azure's access keys).
 * The vault is `vaultUrl`, else KEYLESS_KEYVAULT_URL, unless a connector is passed. Options are
 * checked here; the environment is read when `createRedisConnector` uses this (as in
 * `@keyless/postgres`), and a missing setting fails there, naming the option and the variable.
 */
export function fromKeyVaultSecret(options: FromKeyVaultSecretOptions = {}): RedisAuth {
  const given = options ?? {};
  const secretName = resolveSetting(nameSchema, { option: 'secretName', value: given.secretName });
  const username = resolveSetting(nameSchema, { option: 'username', value: given.username });
  const connector = 'connector' in given ? given.connector : undefined;
  const vaultUrl = 'vaultUrl' in given ? given.vaultUrl : undefined;
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
 * (`objectId`, else KEYLESS_REDIS_ENTRA_USER, read when the connector is created) and is never
 * read out of the token: the user must be the one the cache's data access policy assignment names.
 */
export function entraToken(options: { objectId?: string; scope?: string } = {}): RedisAuth {
  const given = options ?? {};
  const objectId = resolveSetting(nameSchema, { option: 'objectId', value: given.objectId });
  const scope = resolveSetting(
    z.string().regex(/^https:\/\/\S+$/, 'expected a scope such as https://redis.azure.com/.default'),
    { option: 'scope', value: given.scope },
  );
  return Object.freeze({
    kind: 'entra-token',
    objectId: objectId.value,
    scope: scope.value ?? redisEntraScope,
  });
}

/** An auth with every setting decided: options first, then the environment. */
export type ResolvedRedisAuth =
  | {
      kind: 'key-vault-secret';
      secretName: string;
      username: string | undefined;
      vaultUrl: string | undefined;
      connector: KeyVaultConnector | undefined;
    }
  | { kind: 'entra-token'; objectId: string; scope: string };

/** The settings rule of every keyless connector, applied to `auth` when the connector is created. */
export function resolveAuth(auth: unknown, environment: Environment = process.env): ResolvedRedisAuth {
  const given = auth as RedisAuth | undefined;
  if (
    given === undefined ||
    given === null ||
    (given.kind !== 'key-vault-secret' && given.kind !== 'entra-token')
  ) {
    throw new ConfigurationError('No Redis authentication is configured', {
      hint: 'set the option `auth` to fromKeyVaultSecret() (secret name from KEYLESS_REDIS_PASSWORD_SECRET) or entraToken() (object id from KEYLESS_REDIS_ENTRA_USER)',
    });
  }
  if (given.kind === 'entra-token') {
    const objectId = requireSetting(
      nameSchema,
      {
        option: 'objectId',
        value: given.objectId,
        variables: [redisEntraUserVariable],
        environment,
      },
      {
        what: 'Redis Entra user (object id)',
        detail:
          " (entraToken({ objectId })): the object (principal) id of the managed identity, the user the cache's access policy assignment names; keyless never reads it out of the token",
      },
    );
    return { kind: 'entra-token', objectId, scope: given.scope };
  }
  const secretName = requireSetting(
    nameSchema,
    {
      option: 'secretName',
      value: given.secretName,
      variables: [redisPasswordSecretVariable],
      environment,
    },
    {
      what: 'Key Vault secret name for the Redis password',
      detail: ' (fromKeyVaultSecret({ secretName })); `keyless-local up` exports the seeded `redis-password`',
    },
  );
  const username = resolveSetting(nameSchema, {
    option: 'username',
    value: given.username,
    variables: [redisUserVariable],
    environment,
  }).value;
  return {
    kind: 'key-vault-secret',
    secretName,
    username,
    vaultUrl: given.vaultUrl,
    connector: given.connector,
  };
}
