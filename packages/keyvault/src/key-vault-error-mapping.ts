import {
  AuthenticationFailedError,
  AuthorizationError,
  ConfigurationError,
  findKeylessError,
  type KeylessError,
  ServiceUnavailableError,
  ThrottledError,
} from '@keyless/core';
import { isNetworkFailureCode, parseRetryAfter, untrustedCertificateError } from '@keyless/core/internal';
import { accessPolicyDenial } from './access-policy-denial.js';
import { caOption, keyVaultService } from './key-vault-transport-guard.js';

export interface SecretRequestContext {
  vaultUrl: string;
  name: string;
  version?: string | undefined;
  now: number;
}

export const secretsUserHint =
  'assign the identity *Key Vault Secrets User* on the vault (az role assignment create --role "Key Vault Secrets User" --assignee <principal-id> --scope <vault-resource-id>)';

/** What an Azure SDK RestError (or a network failure underneath it) looks like to us. */
interface RestErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  statusCode?: unknown;
  details?: unknown;
  response?: { headers?: { get(name: string): string | undefined | null } };
  cause?: unknown;
}

/**
 * Whether a read failed because the connection broke before any answer came back (ECONNRESET,
 * EPIPE; "socket hang up" carries ECONNRESET): typically a keep-alive socket the vault or a proxy
 * had already closed. A GET is idempotent, so the read may go again at once on a new connection;
 * the SDK's own retries, which would do that, are off (connector-options.ts).
 */
export function isConnectionResetBeforeAnswer(error: unknown): boolean {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as RestErrorShape;
  return shape.statusCode === undefined && (shape.code === 'ECONNRESET' || shape.code === 'EPIPE');
}

/**
 * Turns whatever a SecretClient call threw into a KeylessError. The provider's own KeylessErrors
 * (no identity here, throttled identity endpoint, …) pass through unchanged. Messages name the
 * secret and the vault, never a value: a GET error carries none, and we never quote the body.
 */
export function mapKeyVaultError(error: unknown, context: SecretRequestContext): KeylessError {
  // The SDK's pipeline may wrap what the credential threw.
  const provided = findKeylessError(error);
  if (provided) return provided;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as RestErrorShape;
  const status = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const innerCode = innerErrorCode(shape.details);
  const message = typeof shape.message === 'string' ? shape.message : '';
  const what = describeSecret(context);
  const retryAfterMs = parseRetryAfter(shape.response?.headers?.get('retry-after'), context.now);
  const options = { cause: error, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };

  if (status === undefined) {
    // Node refused the vault's certificate. Not an outage: the same certificate is refused on every
    // attempt, so this is configuration (trust the CA, or use the vault's own name), not retryable.
    const certificate = untrustedCertificateError(error, {
      service: keyVaultService,
      target: hostOf(context.vaultUrl),
      caOption,
    });
    if (certificate) return certificate;
    if (message.includes('does not match the requested domain')) {
      return new ConfigurationError(`Key Vault's challenge for ${what} names another domain`, {
        cause: error,
        hint: 'use the vault URI exactly as the portal shows it (https://<name>.vault.azure.net); for a local emulator use a loopback URL (127.0.0.1 or localhost)',
      });
    }
    if (isNetworkFailureCode(code)) {
      return new ServiceUnavailableError(`Key Vault could not be reached for ${what} (${code})`, {
        cause: error,
        hint: 'check the vault URL and the network path (DNS, firewall, private endpoint)',
      });
    }
    if (shape.name === 'AbortError') {
      return new ServiceUnavailableError(`the request for ${what} was aborted`, { cause: error });
    }
    return new ServiceUnavailableError(`reading ${what} failed without an answer from Key Vault`, {
      cause: error,
      retryable: true,
    });
  }
  if (status === 401) {
    return new AuthenticationFailedError(`Key Vault did not accept the identity's token for ${what}`, {
      ...options,
      hint: "the token must be for https://vault.azure.net from the vault's tenant; check that the managed identity belongs to that tenant",
    });
  }
  if (status === 403) {
    if (code === 'SecretDisabled' || innerCode === 'SecretDisabled') {
      return new ConfigurationError(`${capitalise(what)} is disabled`, {
        ...options,
        hint: 'enable the secret version (az keyvault secret set-attributes --enabled true) or store a new version',
      });
    }
    if (innerCode === 'ForbiddenByFirewall' || innerCode === 'ForbiddenByConnection') {
      return new AuthorizationError(`Key Vault's network rules refused the request for ${what}`, {
        ...options,
        hint: 'allow this network on the vault (az keyvault network-rule add) or reach it through its private endpoint',
      });
    }
    const accessPolicy = accessPolicyDenial(innerCode, message, context.vaultUrl);
    if (accessPolicy) {
      const lacking = accessPolicy.missingPermission ?? 'the permission';
      return new AuthorizationError(
        `The identity may not read ${what}: no access policy of the vault gives it ${lacking} (AccessDenied)`,
        { ...options, hint: accessPolicy.hint },
      );
    }
    // ForbiddenByRbac, or a 403 that says nothing more: RBAC is what Microsoft recommends and what
    // new vaults use, so its fix is the likely one.
    return new AuthorizationError(`The identity may not read ${what} (${innerCode ?? code ?? 'Forbidden'})`, {
      ...options,
      hint: secretsUserHint,
    });
  }
  if (status === 404) {
    return new ConfigurationError(
      `secret ${context.name}${context.version ? ` version ${context.version}` : ''} does not exist in ${context.vaultUrl}`,
      {
        ...options,
        hint: 'create it or fix the name',
      },
    );
  }
  if (status === 429) {
    return new ThrottledError(`Key Vault throttled the request for ${what}`, options);
  }
  if (status >= 500 || status === 408) {
    return new ServiceUnavailableError(`Key Vault answered ${status} for ${what}`, options);
  }
  return new ConfigurationError(
    `Key Vault refused the request for ${what} (${status} ${code ?? ''})`.trim(),
    {
      ...options,
      hint: 'check the secret name (letters, digits and dashes, at most 127) and the vault URL',
    },
  );
}

function innerErrorCode(details: unknown): string | undefined {
  const body = details as { error?: { innererror?: { code?: unknown }; innerError?: { code?: unknown } } };
  const code = body?.error?.innererror?.code ?? body?.error?.innerError?.code;
  return typeof code === 'string' ? code : undefined;
}

function describeSecret(context: SecretRequestContext): string {
  const version = context.version ? ` (version ${context.version})` : '';
  return `secret '${context.name}'${version} in ${context.vaultUrl}`;
}

function hostOf(vaultUrl: string): string {
  try {
    return new URL(vaultUrl).host;
  } catch {
    return vaultUrl;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
