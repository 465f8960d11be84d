import { LogLevel, ManagedIdentityApplication, type ManagedIdentityIdParams } from '@azure/msal-node';
import type { FetchedToken } from '../access-token.js';
import { InvalidTokenResponseError } from '../errors.js';
import type { ManagedIdentitySelector } from '../identity.js';
import type { Environment } from '../settings.js';
import { mapEndpointFailure } from './endpoint-failure.js';
import { RecordingNetworkClient } from './recording-network-client.js';
import { type EndpointExchange, recordExchange } from './response-recorder.js';
import { scopeToResource, type TokenBackend, type TokenRequest } from './token-backend.js';

export interface MsalBackendOptions {
  identity: ManagedIdentitySelector;
  environment: Environment;
  requestTimeoutMs: number;
  now: () => number;
}

/**
 * `ManagedIdentityApplication` from @azure/msal-node. Internal retries are off and every call
 * forces a network request: keyless's cache decides when a token is needed, so MSAL's static
 * cache would only hand back the token we are trying to replace.
 */
export class MsalBackend implements TokenBackend {
  readonly name = 'msal' as const;
  readonly identity: ManagedIdentitySelector;
  readonly #application: ManagedIdentityApplication;
  readonly #options: MsalBackendOptions;

  constructor(options: MsalBackendOptions) {
    this.identity = options.identity;
    this.#options = options;
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

  async fetchToken(request: TokenRequest): Promise<FetchedToken> {
    const resource = scopeToResource(request.scope);
    const exchange: EndpointExchange = {};
    try {
      const result = await recordExchange(exchange, () =>
        this.#application.acquireToken({
          resource,
          forceRefresh: true,
          ...(request.claims ? { claims: request.claims } : {}),
        }),
      );
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
    } catch (error) {
      throw mapEndpointFailure(error, exchange, {
        backend: this.name,
        identity: this.identity,
        resource,
        environment: this.#options.environment,
        now: this.#options.now(),
      });
    }
  }
}

function toMsalIdentity(identity: ManagedIdentitySelector): ManagedIdentityIdParams {
  if (identity.kind === 'system-assigned') return {};
  if (identity.by === 'client-id') return { userAssignedClientId: identity.value };
  if (identity.by === 'resource-id') return { userAssignedResourceId: identity.value };
  return { userAssignedObjectId: identity.value };
}
