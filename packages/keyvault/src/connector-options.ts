import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { ConfigurationError, type Environment, type TokenProvider } from '@keyless/core';
import { type Clock, resolveServiceUrl } from '@keyless/core/internal';
import { disableChallengeResourceVerificationFor, isLoopbackVaultUrl } from './challenge-verification.js';
import { secretDestinationPolicy } from './key-vault-transport-guard.js';

/** Options of `createKeyVaultConnector()`; the vault URL may come from the environment instead. */
export interface KeyVaultConnectorOptions {
  /** e.g. https://<vault-name>.vault.azure.net — else env KEYLESS_KEYVAULT_URL (what keyless-local prints). */
  vaultUrl?: string;
  /** The shared provider; built with createTokenProvider() from the environment when omitted (and then closed by close()). */
  tokenProvider?: TokenProvider;
  /**
   * Passed to SecretClient. keyless sets `retryOptions.maxRetries: 0` unless given here (secret
   * sources do their own retrying), decides `disableChallengeResourceVerification` from the URL, and
   * adds a policy that checks every request's destination. Anything that weakens TLS verification,
   * at any depth, and a custom `httpClient` or `agent` are refused with ConfigurationError;
   * `tlsOptions.ca` (a CA to trust) is accepted.
   */
  clientOptions?: SecretClientOptions;
  /**
   * How long one secret read (by a secret source) may wait for Key Vault's answer before it fails
   * with ServiceUnavailableError, so a vault that accepts connections and never answers cannot hold
   * a caller (or the process) indefinitely. Default 15 000 ms. The SDK itself sets no timeout.
   */
  requestTimeoutMs?: number;
}

/** Default of `requestTimeoutMs`. */
export const defaultRequestTimeoutMs = 15_000;

/** The `requestTimeoutMs` option, validated; the default when absent. */
export function resolveRequestTimeout(value: unknown): number {
  if (value === undefined) return defaultRequestTimeoutMs;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 600_000) {
    throw new ConfigurationError('Invalid option `requestTimeoutMs`', {
      hint: 'give a whole number of milliseconds between 1 and 600000 (default 15000)',
    });
  }
  return value;
}

/** Test and simulation hooks (`@keyless/keyvault/testing`); not for applications. */
export interface KeyVaultConnectorInternals {
  clock?: Clock;
  /** 0..1 random source for backoff jitter. */
  random?: () => number;
  /** First backoff step after a failed background refresh. Default 1 s. */
  baseRetryDelayMs?: number;
  /** Cap on the backoff. Default 60 s. */
  maxRetryDelayMs?: number;
  /** Read instead of process.env. */
  environment?: Environment;
  /**
   * Internal, for simulations: answers in place of `SecretClient.getSecret` (a simulated vault), so
   * the real secret sources run without a network. What it throws is mapped like the SDK's errors.
   */
  getSecret?: SecretGetter;
}

/** The part of `SecretClient.getSecret` that secret sources use. */
export type SecretGetter = (
  name: string,
  options: { version?: string },
) => Promise<{ value?: string | undefined; properties: { version?: string | undefined } }>;

export const vaultUrlOption = 'vaultUrl';
export const vaultUrlVariable = 'KEYLESS_KEYVAULT_URL';
const example = 'https://<vault-name>.vault.azure.net';

/** Options first, environment second; a bad or missing value fails at construction, not at the first request. */
export function resolveVaultUrl(value: unknown, environment?: Environment): string {
  // The SDK appends `/secrets/...`: a vault URL is an origin (its vaultUri ends in `/`).
  return resolveServiceUrl({
    service: 'Key Vault',
    example,
    option: vaultUrlOption,
    variable: vaultUrlVariable,
    value,
    environment,
    whereToFind: '`keyless-local up keyvault` prints it for the local stack',
  });
}

/**
 * The SecretClient options keyless uses.
 *
 * Retries: the SDK's pipeline retries 429/5xx up to 3 times with exponential delays (and sleeps
 * through Retry-After) before our code sees the failure. A secret source already serves the last
 * good value and retries in the background with its own backoff; stacking the two would hold a
 * cold caller for tens of seconds and multiply the requests a throttled vault receives. So the
 * source's policy is the only one unless `clientOptions.retryOptions` says otherwise.
 */
export function buildClientOptions(
  vaultUrl: string,
  clientOptions: SecretClientOptions = {},
  environment: () => Environment = () => process.env,
): SecretClientOptions {
  return {
    ...clientOptions,
    // Last, so it sees each request after the caller's own policies have had their say.
    additionalPolicies: [...(clientOptions.additionalPolicies ?? []), secretDestinationPolicy(environment)],
    retryOptions: { maxRetries: 0, ...clientOptions.retryOptions },
    disableChallengeResourceVerification: disableChallengeResourceVerificationFor(
      vaultUrl,
      clientOptions.disableChallengeResourceVerification,
    ),
  };
}

/** The public cloud's Key Vault resource; the local emulator challenges with it too. */
const publicCloudVaultResource = 'https://vault.azure.net';

/**
 * The scope the SecretClient asks the provider for: the resource of the vault's 401 challenge plus
 * `/.default`. That resource is the vault host's DNS suffix: `https://vault.azure.net` for
 * `https://<name>.vault.azure.net`
 * (https://learn.microsoft.com/azure/key-vault/general/authentication-requests-and-responses), and
 * a sovereign cloud's own, e.g. `vault.azure.cn`
 * (https://docs.azure.cn/en-us/key-vault/general/authentication-requests-and-responses). connect()
 * asks for the same scope, so its token is the one the client's requests then use.
 */
export function keyVaultScope(vaultUrl: string): string {
  const host = new URL(vaultUrl).hostname;
  const suffix = host.slice(host.indexOf('.') + 1);
  const resource =
    !isLoopbackVaultUrl(vaultUrl) && host.includes('.') && suffix.startsWith('vault.')
      ? `https://${suffix}`
      : publicCloudVaultResource;
  return `${resource}/.default`;
}
