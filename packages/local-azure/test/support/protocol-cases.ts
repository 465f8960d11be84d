import type { IdentityEndpoint, IdentityProtocol } from '../../src/index.js';

/** What each protocol answers differently, as the real services do. */
export interface ProtocolCase {
  protocol: IdentityProtocol;
  title: string;
  environment: (endpoint: IdentityEndpoint) => Record<string, string>;
  /** `getManagedIdentitySource()` in MSAL. */
  msalSource: string;
  unknownIdentity: { message: string; errorCode: string };
}

export const protocolCases: Record<IdentityProtocol, ProtocolCase> = {
  'app-service': {
    protocol: 'app-service',
    title: 'App Service',
    environment: (endpoint) => endpoint.appServiceEnvironment(),
    msalSource: 'AppService',
    unknownIdentity: { message: 'Unable to load the proper Managed Identity.', errorCode: '' },
  },
  imds: {
    protocol: 'imds',
    title: 'IMDS',
    environment: (endpoint) => endpoint.imdsEnvironment(),
    msalSource: 'DefaultToImds',
    unknownIdentity: { message: 'Identity not found', errorCode: 'invalid_request' },
  },
};
