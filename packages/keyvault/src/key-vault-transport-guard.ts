import type { SecretClientOptions } from '@azure/keyvault-secrets';
import type { Environment } from '@keyless/core';
import { assertNoWeakenedTls, assertUrlDestination } from '@keyless/core/internal';

export const keyVaultService = 'Key Vault';

/** The option that adds a CA, named by the untrusted-certificate error. */
export const caOption = 'clientOptions.tlsOptions.ca';

/** An entry of `SecretClientOptions.additionalPolicies`, typed from the SDK (no extra dependency). */
type AdditionalPolicy = NonNullable<SecretClientOptions['additionalPolicies']>[number];

/**
 * The rule (see @keyless/core's transport-security): the bearer token and the secrets leave the
 * process only over TLS verified against a trusted CA and the vault's name, or to loopback. At
 * construction this refuses every option that would weaken that, at any depth and whatever the
 * types allowed (`clientOptions.tlsOptions.rejectUnauthorized`, a custom `httpClient` or `agent`, …),
 * and a destination the rule forbids.
 */
export function assertKeyVaultTransport(options: object, vaultUrl: string, environment: Environment): void {
  assertNoWeakenedTls(options, '', { service: keyVaultService });
  assertVaultDestination(vaultUrl, environment);
}

/** Plain http to another machine, or any host but loopback while NODE_TLS_REJECT_UNAUTHORIZED=0. */
export function assertVaultDestination(url: string, environment: Environment): void {
  assertUrlDestination(
    {
      service: keyVaultService,
      url,
      urlSetting: 'option `vaultUrl` / KEYLESS_KEYVAULT_URL',
      tlsHint: 'use the vault URI, https://<vault-name>.vault.azure.net',
    },
    environment,
  );
}

/**
 * The destination check on every request the SecretClient sends, because Node reads
 * NODE_TLS_REJECT_UNAUTHORIZED at every TLS connection: a process that set it after the connector
 * was created would otherwise hand the token and the secrets to whoever answers. Placed after the
 * Sign phase (`perRetry`), so it sees each attempt as it goes out: the unauthenticated challenge
 * request, the authenticated one, retries and redirects. The error is a ConfigurationError, which
 * the secret sources pass through as it is.
 */
export function secretDestinationPolicy(environment: () => Environment): AdditionalPolicy {
  return {
    position: 'perRetry',
    policy: {
      name: 'keylessSecretDestination',
      async sendRequest(request, next) {
        assertVaultDestination(request.url, environment());
        return next(request);
      },
    },
  };
}
