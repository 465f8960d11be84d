import type { FetchedToken } from '../access-token.js';
import { type ConfigurationError, KeylessError } from '../errors.js';
import type { ManagedIdentitySelector } from '../identity.js';
import { missingLibraryError } from '../missing-library.js';
import type { TokenBackendName } from '../provider-options.js';
import type { TokenBackend, TokenRequest } from './token-backend.js';

/** The npm package each backend is built on: named in the error when it cannot be loaded. */
export const backendLibraries: Readonly<Record<TokenBackendName, string>> = {
  'azure-identity': '@azure/identity',
  msal: '@azure/msal-node',
};

/**
 * A backend whose library is loaded when the first token is asked for, not when keyless is imported
 * or a provider is built: `@azure/identity` and `@azure/msal-node` each take longer to import than
 * the rest of keyless, and a process only ever uses one of them (issue 11). Once loaded, a call
 * goes straight to the real backend.
 */
export class LazyBackend implements TokenBackend {
  readonly name: TokenBackendName;
  readonly identity: ManagedIdentitySelector;
  readonly #load: () => Promise<TokenBackend>;
  #loaded: TokenBackend | undefined;
  #loading: Promise<TokenBackend> | undefined;

  constructor(name: TokenBackendName, identity: ManagedIdentitySelector, load: () => Promise<TokenBackend>) {
    this.name = name;
    this.identity = identity;
    this.#load = load;
  }

  fetchToken(request: TokenRequest): Promise<FetchedToken> {
    if (this.#loaded) return this.#loaded.fetchToken(request);
    this.#loading ??= this.#load().then(
      (backend) => {
        this.#loaded = backend;
        return backend;
      },
      (error: unknown) => {
        // A later call tries again: a failed load is not cached as if it were the library's answer.
        this.#loading = undefined;
        throw error instanceof KeylessError ? error : missingBackendLibraryError(this.name, error);
      },
    );
    return this.#loading.then((backend) => backend.fetchToken(request));
  }
}

/** A backend library that cannot be loaded becomes a ConfigurationError that says what to install. */
export function missingBackendLibraryError(backend: TokenBackendName, error: unknown): ConfigurationError {
  const library = backendLibraries[backend];
  return missingLibraryError(error, {
    library,
    neededBy: `The ${backend} backend`,
    hint: `install it next to @keyless/core (npm install ${library}); it is a dependency of @keyless/core, so a pruned or bundled install may have left it out. Or choose the other backend with option \`backend\` / KEYLESS_TOKEN_PROVIDER`,
  });
}
