import { ConfigurationError } from './errors.js';
import type { TokenProvider } from './token-provider.js';

/**
 * A connector's `tokenProvider` option, checked at construction: the provider, or undefined when
 * the option is absent (the connector then builds one from the environment). Neither the SDKs nor
 * the drivers refuse a wrong value early — the Storage SDK treats anything without `getToken` as no
 * credential and sends requests anonymously, tedious fails only at the first login — so
 * `tokenProvider: 'msal'` (the backend's name where the provider belongs) would surface far from
 * its cause. The value is never printed: it may be a token.
 */
export function resolveTokenProviderOption(value: unknown): TokenProvider | undefined {
  if (value === undefined) return undefined;
  if ((typeof value === 'object' || typeof value === 'function') && value !== null) {
    if (typeof (value as { getToken?: unknown }).getToken === 'function') return value as TokenProvider;
  }
  throw new ConfigurationError(
    `Invalid option \`tokenProvider\`: expected a TokenProvider (an object with a getToken method), got ${describeKind(value)}`,
    {
      hint: "pass the provider createTokenProvider() from @keyless/core returns, or leave the option out to build one from the environment (KEYLESS_TOKEN_PROVIDER chooses its backend: 'azure-identity' or 'msal')",
    },
  );
}

/** What was given instead, by kind only. */
function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object without getToken';
  if (typeof value === 'function') return 'a function without getToken';
  return `a ${typeof value}`;
}
