import type * as MsalNode from '@azure/msal-node';
import type { FetchedToken } from '../access-token.js';
import { InvalidTokenResponseError } from '../errors.js';
import type { ManagedIdentitySelector } from '../identity.js';
import { requireCommonJsBuild } from './commonjs-build.js';
import { type EndpointRequestContext, requestFromEndpoint } from './endpoint-request.js';
import { FederatedTokenFile } from './federated-token-file.js';
import { RecordingNetworkClient } from './recording-network-client.js';
import type { TokenBackend, TokenRequest } from './token-backend.js';
import type { WorkloadIdentitySettings } from './workload-identity-settings.js';

export interface MsalWorkloadIdentityBackendOptions extends Omit<EndpointRequestContext, 'backend'> {
  requestTimeoutMs: number;
  workloadIdentity: WorkloadIdentitySettings;
}

const { LogLevel, ConfidentialClientApplication } = requireCommonJsBuild<typeof MsalNode>('@azure/msal-node');

/**
 * AKS workload identity over MSAL: a `ConfidentialClientApplication` whose client assertion is the
 * projected service-account token, read from AZURE_FEDERATED_TOKEN_FILE at each request (again only
 * when the file changed), exchanged at `<authority host>/<tenant>/oauth2/v2.0/token` — MSAL's recipe
 * (https://learn.microsoft.com/azure/aks/workload-identity-overview#microsoft-authentication-library-msal).
 * Every call skips MSAL's token cache: keyless's cache decides when a token is needed.
 */
export class MsalWorkloadIdentityBackend implements TokenBackend {
  readonly name = 'msal' as const;
  readonly identity: ManagedIdentitySelector;
  readonly #application: MsalNode.ConfidentialClientApplication;
  readonly #context: EndpointRequestContext;
  #lastCallFailed = false;

  constructor(options: MsalWorkloadIdentityBackendOptions) {
    this.identity = options.identity;
    this.#context = { ...options, backend: this.name, workloadIdentity: options.workloadIdentity };
    const settings = options.workloadIdentity;
    const tokenFile = new FederatedTokenFile(settings.tokenFilePath);
    this.#application = new ConfidentialClientApplication({
      auth: {
        clientId: settings.clientId,
        authority: `${settings.authorityHost}/${settings.tenantId}`,
        clientAssertion: () => tokenFile.read(),
        // MSAL's way to trust an authority without instance discovery, for the local stack's
        // Entra endpoint only (see WorkloadIdentitySettings.disableInstanceDiscovery).
        ...(settings.disableInstanceDiscovery
          ? { knownAuthorities: [new URL(settings.authorityHost).host] }
          : {}),
      },
      system: {
        networkClient: new RecordingNetworkClient(options.requestTimeoutMs),
        loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => {} },
      },
    });
  }

  fetchToken(request: TokenRequest): Promise<FetchedToken> {
    return requestFromEndpoint(
      this.#context,
      request.scope.replace(/\/\.default$/, ''),
      async () => {
        // After a 429 or 5xx MSAL refuses the same request, without sending it, for Retry-After or
        // 60 s. keyless's cache already waits Retry-After and backs off, so MSAL's record would
        // only turn a recovered Entra into a minute of errors: it goes (with the token cache,
        // which every call skips anyway).
        if (this.#lastCallFailed) await this.#application.clearCache();
        this.#lastCallFailed = true;
        const result = await this.#application.acquireTokenByClientCredential({
          scopes: [request.scope],
          skipCache: true,
          ...(request.claims ? { claims: request.claims } : {}),
        });
        if (
          !result?.accessToken ||
          !(result.expiresOn instanceof Date) ||
          Number.isNaN(result.expiresOn.getTime())
        ) {
          throw new InvalidTokenResponseError(
            `msal: Entra's answer for ${request.scope} had no access token or expiry`,
            { hint: 'AZURE_AUTHORITY_HOST does not point at an Entra token endpoint, or it is misbehaving' },
          );
        }
        this.#lastCallFailed = false;
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
