import { createTokenProvider, type TokenProvider } from '@keyless/core';
import { resolveTokenProviderOption } from '@keyless/core/internal';
import { bindRedisPassword, resolveRedisUser } from './redis-auth.js';
import { RedisCredentials } from './redis-credentials.js';

/** What every Redis factory takes to log in: the user, the password source, the provider. */
export interface RedisLoginOptions {
  user?: unknown;
  password?: unknown;
  tokenProvider?: unknown;
}

/**
 * The user and bound password of one connector (all four factories). The token provider is built
 * from the environment only when the binding needs one and none was given — then the connector
 * owns it (`ownedProvider()`, closed by its close()); a binding that fails closes it at once.
 */
export function bindRedisCredentials(given: RedisLoginOptions): {
  credentials: RedisCredentials;
  ownedProvider: () => TokenProvider | undefined;
} {
  const user = resolveRedisUser(given.user, given.password, process.env);
  const givenProvider = resolveTokenProviderOption(given.tokenProvider);
  let ownedProvider: TokenProvider | undefined;
  const provider = () => {
    if (givenProvider) return givenProvider;
    ownedProvider ??= createTokenProvider();
    return ownedProvider;
  };
  try {
    const password = bindRedisPassword(given.password, provider, process.env);
    return { credentials: new RedisCredentials(password, user), ownedProvider: () => ownedProvider };
  } catch (error) {
    void ownedProvider?.close();
    throw error;
  }
}
