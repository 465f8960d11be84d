import type { FetchedToken } from '../access-token.js';
import type { ManagedIdentitySelector } from '../identity.js';
import type { TokenBackendName } from '../provider-options.js';

/** What a backend is asked for: one scope, and the tenant and claims a caller passed. */
export interface TokenRequest {
  /** One scope, e.g. `https://storage.azure.com/.default`. */
  scope: string;
  tenantId?: string | undefined;
  claims?: string | undefined;
  /** Aborts the request (the cache entry was closed): a hung endpoint must not outlive close(). */
  abortSignal?: AbortSignal | undefined;
}

/**
 * One way of getting a managed-identity token. A backend makes exactly one endpoint request per
 * call (its library's own retries and cache are turned off or bypassed where possible: the shared
 * cache owns caching and retrying) and throws only KeylessError.
 */
export interface TokenBackend {
  readonly name: TokenBackendName;
  readonly identity: ManagedIdentitySelector;
  /** One request to the managed-identity endpoint; throws only KeylessError. */
  fetchToken(request: TokenRequest): Promise<FetchedToken>;
}

/** Managed identity speaks resources, not scopes: `https://vault.azure.net/.default` → `https://vault.azure.net`. */
export function scopeToResource(scope: string): string {
  return scope.endsWith('/.default') ? scope.slice(0, -'/.default'.length) : scope;
}
