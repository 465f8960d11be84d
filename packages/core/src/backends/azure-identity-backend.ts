import type { TokenCredential } from '@azure/core-auth';
import type * as CoreRestPipeline from '@azure/core-rest-pipeline';
import type { HttpClient } from '@azure/core-rest-pipeline';
import type * as AzureIdentity from '@azure/identity';
import type { FetchedToken } from '../access-token.js';
import { InvalidTokenResponseError } from '../errors.js';
import type { ManagedIdentitySelector } from '../identity.js';
import { requireCommonJsBuild } from './commonjs-build.js';
import { type EndpointRequestContext, requestFromEndpoint } from './endpoint-request.js';
import { FederatedTokenFile } from './federated-token-file.js';
import { activeExchange, readErrorBody } from './response-recorder.js';
import { scopeToResource, type TokenBackend, type TokenRequest } from './token-backend.js';
import type { WorkloadIdentitySettings } from './workload-identity-settings.js';

export interface AzureIdentityBackendOptions extends Omit<EndpointRequestContext, 'backend'> {
  developerCredential: boolean;
  /** Per request to the endpoint: a hung endpoint fails instead of holding callers and the process. */
  requestTimeoutMs: number;
}

// CommonJS builds (see commonjs-build.ts), both: @azure/identity's CommonJS build requires
// core-rest-pipeline's, so one copy of the pipeline serves the credential and our HTTP client.
const { ClientAssertionCredential, DefaultAzureCredential, ManagedIdentityCredential } =
  requireCommonJsBuild<typeof AzureIdentity>('@azure/identity');
const { createDefaultHttpClient } =
  requireCommonJsBuild<typeof CoreRestPipeline>('@azure/core-rest-pipeline');

/**
 * `ManagedIdentityCredential` from @azure/identity, `DefaultAzureCredential` in developer mode, or
 * for AKS workload identity `ClientAssertionCredential` with the token file as the assertion (what
 * `WorkloadIdentityCredential` wraps: see workloadIdentityCredential() below). Pipeline retries are
 * off (`maxRetries: 0`) so one call is one request; the recording HTTP client tells us what the
 * endpoint said.
 */
export class AzureIdentityBackend implements TokenBackend {
  readonly name = 'azure-identity' as const;
  readonly identity: ManagedIdentitySelector;
  readonly #createCredential: () => TokenCredential;
  #credential: TokenCredential;
  readonly #context: EndpointRequestContext;

  constructor(options: AzureIdentityBackendOptions) {
    this.identity = options.identity;
    this.#context = { ...options, backend: this.name };
    const common = {
      retryOptions: { maxRetries: 0 },
      httpClient: recordingHttpClient(createDefaultHttpClient(), options.requestTimeoutMs),
    };
    const selector = toAzureIdentitySelector(options.identity);
    const workload = options.workloadIdentity;
    this.#createCredential = () => {
      if (options.developerCredential) {
        return new DefaultAzureCredential({
          ...common,
          ...(selector.clientId ? { managedIdentityClientId: selector.clientId } : {}),
          ...(selector.resourceId ? { managedIdentityResourceId: selector.resourceId } : {}),
          // On AKS, DefaultAzureCredential tries workload identity first; a local Entra endpoint
          // needs discovery off (see WorkloadIdentitySettings.disableInstanceDiscovery).
          ...(workload?.disableInstanceDiscovery ? { disableInstanceDiscovery: true } : {}),
        });
      }
      if (workload) return workloadIdentityCredential(workload, common);
      return new ManagedIdentityCredential({ ...common, ...selector } as ConstructorParameters<
        typeof ManagedIdentityCredential
      >[0] &
        object);
    };
    this.#credential = this.#createCredential();
  }

  fetchToken(request: TokenRequest): Promise<FetchedToken> {
    const resource = scopeToResource(request.scope);
    return requestFromEndpoint(
      this.#context,
      resource,
      async () => {
        const credential = this.#credential;
        const result = await credential
          .getToken(request.scope, {
            ...(request.tenantId ? { tenantId: request.tenantId } : {}),
            ...(request.claims ? { claims: request.claims } : {}),
          })
          .catch((error: unknown) => {
            // After a 429 or 5xx from Entra, MSAL (under ClientAssertionCredential) refuses the same
            // request unsent for Retry-After or 60 s. keyless's cache already waits and backs off,
            // so the next attempt gets a credential without that record.
            if (this.#context.workloadIdentity && this.#credential === credential) {
              this.#credential = this.#createCredential();
            }
            throw error;
          });
        if (!result?.token || !Number.isFinite(result.expiresOnTimestamp)) {
          throw new InvalidTokenResponseError(
            `azure-identity: the answer for ${resource} had no access token or expiry`,
          );
        }
        return {
          token: result.token,
          expiresOnTimestamp: result.expiresOnTimestamp,
          refreshAfterTimestamp: result.refreshAfterTimestamp,
        };
      },
      request.abortSignal,
    );
  }
}

/**
 * `ClientAssertionCredential` over the token file: the credential `WorkloadIdentityCredential`
 * itself builds, with the file read by FederatedTokenFile instead of its 5-minute cache, so a
 * rotation is used at the next request
 * (https://learn.microsoft.com/javascript/api/@azure/identity/clientassertioncredential).
 */
function workloadIdentityCredential(
  settings: WorkloadIdentitySettings,
  common: { retryOptions: { maxRetries: number }; httpClient: HttpClient },
): TokenCredential {
  const tokenFile = new FederatedTokenFile(settings.tokenFilePath);
  return new ClientAssertionCredential(settings.tenantId, settings.clientId, () => tokenFile.read(), {
    ...common,
    authorityHost: settings.authorityHost,
    ...(settings.disableInstanceDiscovery ? { disableInstanceDiscovery: true } : {}),
  });
}

function toAzureIdentitySelector(identity: ManagedIdentitySelector): {
  clientId?: string;
  resourceId?: string;
  objectId?: string;
} {
  if (identity.kind === 'system-assigned') return {};
  if (identity.by === 'client-id') return { clientId: identity.value };
  if (identity.by === 'resource-id') return { resourceId: identity.value };
  return { objectId: identity.value };
}

function recordingHttpClient(inner: HttpClient, timeoutMs: number): HttpClient {
  return {
    async sendRequest(request) {
      const exchange = activeExchange();
      if (exchange) exchange.url = request.url;
      // 0 means no timeout to the pipeline; azure-identity sets none for the identity endpoint.
      if (!request.timeout) request.timeout = timeoutMs;
      if (exchange?.abortSignal) {
        const given = request.abortSignal as AbortSignal | undefined;
        request.abortSignal = given ? AbortSignal.any([given, exchange.abortSignal]) : exchange.abortSignal;
      }
      try {
        const response = await inner.sendRequest(request);
        if (exchange) {
          exchange.status = response.status;
          exchange.retryAfter = response.headers.get('retry-after') ?? undefined;
          if (response.status >= 400 && response.bodyAsText) {
            try {
              Object.assign(exchange, readErrorBody(JSON.parse(response.bodyAsText)));
            } catch {
              // A non-JSON error body: the status is enough.
            }
          }
        }
        return response;
      } catch (error) {
        if (exchange) exchange.networkError = error as Error;
        throw error;
      }
    },
  };
}
