import type { FetchedToken } from '../access-token.js';
import type { ManagedIdentitySelector } from '../identity.js';
import type { TokenBackendName } from '../provider-options.js';
import type { Environment } from '../settings.js';
import { mapEndpointFailure } from './endpoint-failure.js';
import { type EndpointExchange, recordExchange } from './response-recorder.js';
import type { WorkloadIdentitySettings } from './workload-identity-settings.js';

export interface EndpointRequestContext {
  backend: TokenBackendName;
  identity: ManagedIdentitySelector;
  environment: Environment;
  now: () => number;
  /** Set when the token comes from Entra by AKS workload identity, not from a managed-identity endpoint. */
  workloadIdentity?: WorkloadIdentitySettings | undefined;
}

/**
 * One library call that asks the endpoint for a token: what the endpoint answered is recorded
 * while it runs, and any failure leaves as a KeylessError built from that record.
 */
export async function requestFromEndpoint(
  context: EndpointRequestContext,
  resource: string,
  call: () => Promise<FetchedToken>,
  abortSignal?: AbortSignal,
): Promise<FetchedToken> {
  const exchange: EndpointExchange = abortSignal ? { abortSignal } : {};
  try {
    return await recordExchange(exchange, call);
  } catch (error) {
    throw mapEndpointFailure(error, exchange, {
      backend: context.backend,
      identity: context.identity,
      resource,
      environment: context.environment,
      now: context.now(),
      workloadIdentity: context.workloadIdentity,
    });
  }
}
