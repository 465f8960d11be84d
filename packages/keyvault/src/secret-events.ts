import type { KeylessError } from '@keyless/core';

/** A new version was cached. Carries versions only: never the value. */
export interface SecretChangeEvent {
  name: string;
  /** undefined for the first value the source caches. */
  previousVersion: string | undefined;
  version: string;
}

/** A fetch failed. `servingLastGood`: get() keeps answering with the value cached before. */
export interface SecretRefreshFailedEvent {
  name: string;
  error: KeylessError;
  servingLastGood: boolean;
}

export interface SecretSourceEvents {
  change: SecretChangeEvent;
  'refresh-failed': SecretRefreshFailedEvent;
}
