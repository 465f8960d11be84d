import type { ConnectorSet } from '../../src/connectors.ts';

/** The scopes the demo's connectors ask for: Blob Storage, Key Vault (also for the database passwords), Azure SQL. */
export const demoScopes = [
  'https://storage.azure.com/.default',
  'https://vault.azure.net/.default',
  'https://database.windows.net/.default',
] as const;

const vaultScope = 'https://vault.azure.net/.default';

/** The token a provider currently serves for a scope, described by its times (never the token). */
export interface ServedToken {
  backend: string;
  scope: string;
  obtainedAt: number;
  refreshAt: number;
  /** The cache hands the token out until then: expiry minus its margin. */
  servingUntil: number;
}

/** Core's default expiry margin, which a short-lived token caps at a quarter of its lifetime. */
const defaultExpiryMarginMs = 30_000;

/**
 * Asks each set's provider for its cached tokens (no endpoint request while they are valid). The
 * identity endpoint mints every token with the same lifetime, so it was obtained about one
 * lifetime before it expires (`iat` is whole seconds).
 *
 * The Key Vault SDK asks with the tenant named in the vault's challenge, which is part of the
 * cache key: asking without it would start a second vault token of our own.
 */
export async function servedTokens(
  connectorSets: readonly ConnectorSet[],
  lifetimeSeconds: number,
  vaultTenantId: string,
): Promise<ServedToken[]> {
  const lifetimeMs = lifetimeSeconds * 1000;
  const margin = Math.min(defaultExpiryMarginMs, lifetimeMs / 4);
  return Promise.all(
    connectorSets.flatMap((set) =>
      demoScopes.map(async (scope) => {
        const token = await set.tokenProvider.getToken(
          scope,
          scope === vaultScope ? { tenantId: vaultTenantId } : {},
        );
        return {
          backend: set.backend,
          scope,
          obtainedAt: token.expiresOnTimestamp - lifetimeMs,
          refreshAt: token.refreshAfterTimestamp ?? token.expiresOnTimestamp,
          servingUntil: token.expiresOnTimestamp - margin,
        };
      }),
    ),
  );
}
