import type { Clock } from '@keyless/core/internal';
import type { AccessToken } from './raw-managed-identity-credential.js';

/** DEFAULT_CYCLER_OPTIONS of @azure/core-rest-pipeline's tokenCycler. */
const forcedRefreshWindowMs = 1000;
const retryIntervalMs = 3000;
const refreshWindowMs = 2 * 60_000;

export type AccessTokenGetter = (scope: string) => Promise<AccessToken>;

/**
 * The token cycler behind every Azure SDK client's bearer-token policy (core-rest-pipeline's
 * createTokenCycler; Key Vault's policy has its own copy with the same rules), on the simulation's
 * clock. Per client: one refresh at a time; with no token, callers wait for one attempt; within
 * the refresh window (refreshAfterTimestamp, or 2 minutes before expiry) a request starts a
 * background refresh that retries every 3 s until the cached token expires.
 */
export function createTokenCycler(credential: AccessTokenGetter, clock: Clock): AccessTokenGetter {
  let refreshWorker: Promise<AccessToken> | null = null;
  let token: AccessToken | null = null;

  const shouldRefresh = (): boolean => {
    if (token === null) return true;
    if (refreshWorker !== null) return false;
    if (token.refreshAfterTimestamp !== undefined && token.refreshAfterTimestamp < clock.now()) return true;
    return token.expiresOnTimestamp - refreshWindowMs < clock.now();
  };
  const mustRefresh = (): boolean =>
    token === null || token.expiresOnTimestamp - forcedRefreshWindowMs < clock.now();

  async function beginRefresh(scope: string, refreshTimeout: number): Promise<AccessToken> {
    const attempt = async (): Promise<AccessToken | null> => {
      if (clock.now() < refreshTimeout) {
        try {
          return await credential(scope);
        } catch {
          return null;
        }
      }
      return credential(scope);
    };
    let fresh = await attempt();
    while (fresh === null) {
      await clock.sleep(retryIntervalMs);
      fresh = await attempt();
    }
    return fresh;
  }

  function refresh(scope: string): Promise<AccessToken> {
    if (refreshWorker === null) {
      refreshWorker = beginRefresh(scope, token?.expiresOnTimestamp ?? clock.now()).then(
        (fresh) => {
          refreshWorker = null;
          token = fresh;
          return fresh;
        },
        (error: unknown) => {
          refreshWorker = null;
          token = null;
          throw error;
        },
      );
    }
    return refreshWorker;
  }

  return async (scope) => {
    if (mustRefresh()) return refresh(scope);
    if (shouldRefresh()) {
      // The SDK leaves this promise unobserved; a rejection surfaces at the next mustRefresh.
      refresh(scope).catch(() => {});
    }
    return token as AccessToken;
  };
}
