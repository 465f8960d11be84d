import { createRequire } from 'node:module';
import type * as KeyVaultSecrets from '@azure/keyvault-secrets';
import type { ConfigurationError } from '@keyless/core';
import { missingLibraryError } from '@keyless/core/internal';

/** The part of `@azure/keyvault-secrets` keyless uses. */
export type SecretsLibrary = Pick<typeof KeyVaultSecrets, 'SecretClient'>;

const libraryName = '@azure/keyvault-secrets';
const requireFromKeyVault = createRequire(import.meta.url);
let loaded: SecretsLibrary | undefined;

/**
 * The SDK, loaded when a connector first needs a SecretClient (the first secret read, connect(), or
 * the `client` getter), never at import: the PostgreSQL and Redis connectors import this package for
 * their password binding, and in Entra-token mode nothing ever reads a secret, so they would pay the
 * SDK's load time on every cold start for nothing (issue 11).
 *
 * Its CommonJS build, through require(): synchronous, so the `client` getter can build a client
 * whenever it is first read, and the same build @keyless/core's azure-identity backend loads, so the
 * two share one copy of the Azure pipeline packages (@azure/core-rest-pipeline, …) instead of loading
 * an ES and a CommonJS copy of each. An application that imports SecretClient itself as an ES module
 * holds a second copy of the SDK; keyless never mixes the two.
 */
export function secretsLibrary(): SecretsLibrary {
  if (loaded === undefined) {
    try {
      loaded = requireFromKeyVault(libraryName) as SecretsLibrary;
    } catch (error) {
      throw missingSecretsLibraryError(error);
    }
  }
  return loaded;
}

/** The peer dependency cannot be loaded: say what to install, and that Entra mode does not need it. */
export function missingSecretsLibraryError(error: unknown): ConfigurationError {
  return missingLibraryError(error, {
    library: libraryName,
    neededBy: 'Reading a Key Vault secret',
    hint: `install it next to your keyless connectors (npm install ${libraryName}); it is a peer dependency, needed for Key Vault secrets (createKeyVaultConnector(), fromKeyVaultSecret()), not for entraToken()`,
  });
}
