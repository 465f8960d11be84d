import type * as MsalNode from '@azure/msal-node';
import type { ManagedIdentityIdParams } from '@azure/msal-node';
import type { FetchedToken } from '../access-token.js';
import { InvalidTokenResponseError } from '../errors.js';
import type { ManagedIdentitySelector } from '../identity.js';
import { requireCommonJsBuild } from './commonjs-build.js';
import { type EndpointRequestContext, requestFromEndpoint } from './endpoint-request.js';
import { RecordingNetworkClient } from './recording-network-client.js';
import { scopeToResource, type TokenBackend, type TokenRequest } from './token-backend.js';

export interface MsalBackendOptions extends Omit<EndpointRequestContext, 'backend'> {
  requestTimeoutMs: number;
}

// The CommonJS build: one bundled file, the fastest way to load MSAL (see commonjs-build.ts).
const { LogLevel, ManagedIdentityApplication } = requireCommonJsBuild<typeof MsalNode>('@azure/msal-node');

/**
 * `ManagedIdentityApplication` from @azure/msal-node. Internal retries are off and every call
 * forces a network request: keyless's cache decides when a token is needed, so MSAL's static
 * cache would only hand back the token we are trying to replace.
 */
export class MsalBackend implements TokenBackend {
  readonly name = 'msal' as const;
  readonly identity: ManagedIdentitySelector;
  readonly #application: MsalNode.ManagedIdentityApplication;
  readonly #context: EndpointRequestContext;

  constructor(options: MsalBackendOptions) {
    this.identity = options.identity;
    this.#context = { ...options, backend: this.name };
    this.#application = new ManagedIdentityApplication({
      managedIdentityIdParams: toMsalIdentity(options.identity),
      system: {
        disableInternalRetries: true,
        networkClient: new RecordingNetworkClient(options.requestTimeoutMs),
        // MSAL's own logging can include request URLs and PII; keyless emits its own events.
        loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => {} },
      },
    });
  }

  fetchToken(request: TokenRequest): Promise<FetchedToken> {
    const resource = scopeToResource(request.scope);
    return requestFromEndpoint(
      this.#context,
      resource,
      async () => {
        const result = await this.#application.acquireToken({
          resource,
          forceRefresh: true,
          ...(request.claims ? { claims: request.claims } : {}),
        });
        if (
          !result?.accessToken ||
          !(result.expiresOn instanceof Date) ||
          Number.isNaN(result.expiresOn.getTime())
        ) {
          throw new InvalidTokenResponseError(
            `msal: the endpoint's answer for ${resource} had no access token or expiry`,
            {
              hint: 'the endpoint is not a managed-identity endpoint, or is misbehaving',
            },
          );
        }
        return {
          token: result.accessToken,
          expiresOnTimestamp: result.expiresOn.getTime(),
          refreshAfterTimestamp: result.refreshOn?.getTime(),
        };
      },
      request.abortSignal,
    );
  }
}

function toMsalIdentity(identity: ManagedIdentitySelector): ManagedIdentityIdParams {
  if (identity.kind === 'system-assigned') return {};
  if (identity.by === 'client-id') return { userAssignedClientId: identity.value };
  if (identity.by === 'resource-id') return { userAssignedResourceId: identity.value };
  return { userAssignedObjectId: identity.value };
}
