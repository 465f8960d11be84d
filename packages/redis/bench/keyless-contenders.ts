// How the measuring children make a keyless contender of either client library, standalone or
// cluster: the connector's password options in either mode, and the connector opened as a contender.
import { entraToken, fromKeyVaultSecret, type TokenProvider } from '@keyless/core';
import type { OpenContender } from './interleaved-rounds.ts';
import type { BenchClient } from './redis-client-adapters.ts';

/**
 * A keyless connector's password options in either mode: the Key Vault secret (as `user`) or an
 * Entra token, from the one provider every keyless contender shares, as an app has (renewing a
 * connection asks its cache, not the identity endpoint again).
 */
export function keylessPassword(
  mode: 'secret' | 'entra',
  user: string | undefined,
  tokenProvider: TokenProvider,
) {
  return mode === 'secret'
    ? { password: fromKeyVaultSecret(), user, tokenProvider }
    : { password: entraToken(), tokenProvider };
}

/**
 * Opens a keyless connector as a contender: connected before its warm-up, as the raw client is by
 * its first command, its client wrapped by `asBenchClient`.
 */
export function keylessContender<Client>(
  create: () => { client: Client; connect(): Promise<void>; close(): Promise<void> },
  asBenchClient: (client: Client) => BenchClient,
): () => Promise<OpenContender> {
  return async () => {
    const connector = create();
    await connector.connect();
    return { client: asBenchClient(connector.client), close: () => connector.close() };
  };
}
