import {
  AuthenticationFailedError,
  CredentialUnavailableError,
  InvalidTokenResponseError,
  KeylessError,
  ServiceUnavailableError,
  ThrottledError,
} from '../errors.js';
import { describeIdentity, type ManagedIdentitySelector } from '../identity.js';
import type { TokenBackendName } from '../provider-options.js';
import { parseRetryAfter } from '../retry-policy.js';
import type { Environment } from '../settings.js';
import { entraCodeOf, hintForEntraCode } from './entra-error-hints.js';
import { describeIdentityEndpoint, managedIdentityVariables } from './managed-identity-environment.js';
import type { EndpointExchange } from './response-recorder.js';
import type { WorkloadIdentitySettings } from './workload-identity-settings.js';

export interface FailureContext {
  backend: TokenBackendName;
  identity: ManagedIdentitySelector;
  resource: string;
  environment: Environment;
  now: number;
  workloadIdentity?: WorkloadIdentitySettings | undefined;
}

/**
 * Turns whatever a library threw into one KeylessError, using what the endpoint really answered
 * (recorded by our HTTP layer) rather than the library's wording, which differs between backends.
 */
export function mapEndpointFailure(
  error: unknown,
  recorded: EndpointExchange,
  context: FailureContext,
): KeylessError {
  if (error instanceof KeylessError) return error;
  const exchange =
    recorded.status === undefined ? { ...recorded, ...exchangeFromErrorChain(error) } : recorded;
  const endpoint = context.workloadIdentity
    ? {
        configured: true,
        description: `Entra at ${context.workloadIdentity.authorityHost} (AKS workload identity, token file ${context.workloadIdentity.tokenFilePath})`,
      }
    : describeIdentityEndpoint(context.environment);
  const who = `${describeIdentity(context.identity)} identity`;
  const what = `${context.backend}: token for ${context.resource} from ${endpoint.description}`;
  const detail = exchange.errorDescription ?? exchange.errorCode;
  const said = detail ? `: ${detail}` : '';
  const status = exchange.status;

  if (status === undefined) {
    if (exchange.networkError || isNetworkFailure(error)) {
      if (!endpoint.configured) {
        return new CredentialUnavailableError(
          `${what} failed: no managed identity is reachable from this process`,
          {
            hint: `on Azure, enable a managed identity for this app; elsewhere set one of ${managedIdentityVariables.join(', ')} (keyless-local prints them) or use developerCredential`,
            cause: error,
          },
        );
      }
      return new ServiceUnavailableError(`${what} failed: the endpoint did not answer`, {
        hint: 'the identity endpoint is down or restarting; keyless retries with backoff',
        cause: error,
      });
    }
    return new CredentialUnavailableError(`${what} failed before any request was sent${errorText(error)}`, {
      hint: `check the managed-identity environment (${managedIdentityVariables.join(', ')})`,
      cause: error,
    });
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(exchange.retryAfter, context.now);
    return new ThrottledError(`${what} was throttled (429)${said}`, {
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      hint: 'too many token requests from this host; keyless waits as the endpoint asked',
      cause: error,
    });
  }
  if (status === 400 || status === 401 || status === 403) {
    const entraCode = context.workloadIdentity ? entraCodeOf(exchange.errorDescription) : undefined;
    const entraHint =
      entraCode !== undefined && context.workloadIdentity
        ? hintForEntraCode(entraCode, context.workloadIdentity)
        : undefined;
    return new AuthenticationFailedError(`${what} was refused (${status})${said}`, {
      status,
      hint:
        entraHint ??
        (context.workloadIdentity
          ? `check the federated credential of identity ${context.workloadIdentity.clientId} (issuer, subject system:serviceaccount:<namespace>:<service account>, audience api://AzureADTokenExchange)`
          : undefined) ??
        (context.identity.kind === 'user-assigned'
          ? `check that the ${who} is attached to this app (and that the id is right)`
          : 'check that the system-assigned identity is enabled for this app, or select a user-assigned one'),
      cause: error,
    });
  }
  if (status === 404 || status === 408 || status === 410 || status >= 500) {
    const retryAfterMs = parseRetryAfter(exchange.retryAfter, context.now);
    return new ServiceUnavailableError(`${what} failed (${status})${said}`, {
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      hint:
        status === 410
          ? 'IMDS is being upgraded; keyless keeps retrying for at least 70 s'
          : 'transient; keyless retries with backoff',
      cause: error,
    });
  }
  if (status >= 200 && status < 300) {
    return new InvalidTokenResponseError(
      `${what} answered ${status} without a usable token${errorText(error)}`,
      {
        status,
        hint: 'the endpoint is not a managed-identity endpoint, or is misbehaving; check the variables that point at it',
        cause: error,
      },
    );
  }
  return new AuthenticationFailedError(`${what} failed (${status})${said}`, { status, cause: error });
}

/**
 * MSAL picks its network client once per process, from the first managed-identity application that
 * asks for a token. If that was not one of ours (application code using MSAL directly, first), our
 * recorder never sees the answer; MSAL's ServerError still carries the status, so read it there.
 */
function exchangeFromErrorChain(error: unknown): EndpointExchange {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const record = current as Error & {
      status?: unknown;
      statusCode?: unknown;
      errorCode?: unknown;
      cause?: unknown;
    };
    const status = typeof record.status === 'number' ? record.status : record.statusCode;
    if (typeof status === 'number' && status >= 100) {
      return {
        status,
        ...(typeof record.errorCode === 'string' && record.errorCode ? { errorCode: record.errorCode } : {}),
      };
    }
    if (record.errorCode === 'network_error') return { networkError: record };
    current = record.cause;
  }
  return {};
}

function errorText(error: unknown): string {
  return error instanceof Error && error.message ? ` (${error.message})` : '';
}

function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const record = error as Error & { errorCode?: string; code?: string };
  return (
    record.errorCode === 'network_error' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET'].includes(
      record.code ?? '',
    )
  );
}
