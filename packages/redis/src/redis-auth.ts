import type { Environment, TokenProvider } from '@keyless/core';
import {
  invalid,
  isPasswordSource,
  requireSetting,
  resolveSetting,
  settingSchema,
} from '@keyless/core/internal';
import { bindPasswordSource, type PasswordBinding } from '@keyless/keyvault/internal';

/** Azure Cache for Redis's Entra audience. */
export const redisEntraScope = 'https://redis.azure.com/.default';
export const redisUserVariable = 'KEYLESS_REDIS_USER';
export const redisEntraUserVariable = 'KEYLESS_REDIS_ENTRA_USER';
export const redisPasswordSecretVariable = 'KEYLESS_REDIS_PASSWORD_SECRET';

/**
 * The option `password` (`fromKeyVaultSecret()` / `entraToken()` of @keyless/core) bound for this
 * connector by the binding every password connector shares: the secret name from
 * KEYLESS_REDIS_PASSWORD_SECRET when the source names none, tokens for Azure Cache for Redis.
 * Re-sending AUTH on live connections is Redis's own (see redis-connector.ts).
 */
export function bindRedisPassword(
  source: unknown,
  tokenProvider: () => TokenProvider,
  environment: Environment,
): PasswordBinding {
  return bindPasswordSource(source, {
    service: 'Redis',
    secretNameVariable: redisPasswordSecretVariable,
    defaultScope: redisEntraScope,
    tokenProvider,
    environment,
  });
}

const userSchema = settingSchema((raw) => {
  if (typeof raw !== 'string') return invalid('expected a user name');
  const value = raw.trim();
  return value === '' ? invalid('must not be empty') : value;
});

/**
 * The option `user`, options first. With a Key Vault secret: the ACL user, else KEYLESS_REDIS_USER,
 * else Redis's `default` user (Azure's access keys). With an Entra token: the identity's object
 * (principal) id — the user the cache's data access policy assignment names — else
 * KEYLESS_REDIS_ENTRA_USER, and required: keyless never reads it out of the token. Undefined for a
 * source that is not one (the password binding reports that).
 */
export function resolveRedisUser(
  user: unknown,
  source: unknown,
  environment: Environment,
): string | undefined {
  if (!isPasswordSource(source)) return undefined;
  if (source.kind === 'entra-token') {
    return requireSetting(
      userSchema,
      { option: 'user', value: user, variables: [redisEntraUserVariable], environment },
      {
        what: 'Redis Entra user (the object id of the identity)',
        detail:
          ": with entraToken() the user is the object (principal) id of the managed identity, the user the cache's access policy assignment names; keyless never reads it out of the token",
      },
    );
  }
  return resolveSetting(userSchema, {
    option: 'user',
    value: user,
    variables: [redisUserVariable],
    environment,
  }).value;
}
