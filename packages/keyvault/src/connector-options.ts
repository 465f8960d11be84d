import type { SecretClientOptions } from '@azure/keyvault-secrets';
import {
  type Clock,
  ConfigurationError,
  type Environment,
  resolveSetting,
  type TokenProvider,
} from '@keyless/core';
import { z } from 'zod';
import { disableChallengeResourceVerificationFor } from './challenge-verification.js';

export interface KeyVaultConnectorOptions {
  /** e.g. https://<vault-name>.vault.azure.net — else env KEYLESS_KEYVAULT_URL (what keyless-local prints). */
  vaultUrl?: string;
  /** The shared provider; built with createTokenProvider() from the environment when omitted (and then closed by close()). */
  tokenProvider?: TokenProvider;
  /**
   * Passed to SecretClient. keyless sets `retryOptions.maxRetries: 0` unless given here (secret
   * sources do their own retrying), and decides `disableChallengeResourceVerification` from the URL.
   */
  clientOptions?: SecretClientOptions;
}

/** Test and simulation hooks; not needed in applications. */
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
}

export const vaultUrlOption = 'vaultUrl';
export const vaultUrlVariable = 'KEYLESS_KEYVAULT_URL';
const example = 'https://<vault-name>.vault.azure.net';

const vaultUrlSchema = z
  .string({ error: `expected a URL such as ${example}` })
  .transform((value, context) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      context.addIssue({ code: 'custom', message: `not a URL; expected one such as ${example}` });
      return z.NEVER;
    }
    if (url.protocol !== 'https:') {
      context.addIssue({
        code: 'custom',
        message: `Key Vault is reached over https only; expected a URL such as ${example}`,
      });
      return z.NEVER;
    }
    if (url.search !== '' || url.username !== '' || url.password !== '') {
      context.addIssue({
        code: 'custom',
        message: 'the vault URL must not carry a query string or credentials',
      });
      return z.NEVER;
    }
    // The SDK appends `/secrets/...` to the URL; a vault URL is an origin (its vaultUri ends in `/`).
    return url.origin;
  });

/** Options first, environment second; a bad or missing value fails at construction, not at the first request. */
export function resolveVaultUrl(value: unknown, environment?: Environment): string {
  const resolved = resolveSetting(vaultUrlSchema, {
    option: vaultUrlOption,
    value,
    variables: [vaultUrlVariable],
    environment,
  });
  if (resolved.value === undefined) {
    throw new ConfigurationError('No Key Vault URL is configured', {
      hint: `set the option \`${vaultUrlOption}\` or the environment variable ${vaultUrlVariable} to the vault's URI, e.g. ${example} (\`keyless-local up keyvault\` prints it for the local stack)`,
    });
  }
  return resolved.value;
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
): SecretClientOptions {
  return {
    ...clientOptions,
    retryOptions: { maxRetries: 0, ...clientOptions.retryOptions },
    disableChallengeResourceVerification: disableChallengeResourceVerificationFor(
      vaultUrl,
      clientOptions.disableChallengeResourceVerification,
    ),
  };
}
