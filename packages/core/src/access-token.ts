import { defineSecretProperty, installRedactedViews, REDACTED } from './redaction.js';

/**
 * The token keyless hands out. Structurally an `@azure/core-auth` AccessToken; `token` is readable
 * but non-enumerable, and JSON / inspect views show `[REDACTED]`, so logging the object is safe.
 */
export interface KeylessAccessToken {
  readonly token: string;
  readonly expiresOnTimestamp: number;
  /** When keyless will have a fresh token; SDK pipelines ask again from then on. */
  readonly refreshAfterTimestamp: number;
  readonly tokenType: 'Bearer';
}

/** What a backend fetched, before the cache decides when to refresh it. */
export interface FetchedToken {
  token: string;
  expiresOnTimestamp: number;
  /** The backend's own hint (MSAL: half the lifetime for tokens longer than 2 h). */
  refreshAfterTimestamp?: number | undefined;
}

export function createAccessToken(fetched: FetchedToken, refreshAfterTimestamp: number): KeylessAccessToken {
  const { expiresOnTimestamp } = fetched;
  const accessToken = { expiresOnTimestamp, refreshAfterTimestamp, tokenType: 'Bearer' as const };
  defineSecretProperty(accessToken, 'token', fetched.token);
  installRedactedViews(accessToken, () => ({
    token: REDACTED,
    expiresOnTimestamp,
    refreshAfterTimestamp,
    tokenType: 'Bearer',
  }));
  return Object.freeze(accessToken) as KeylessAccessToken;
}
