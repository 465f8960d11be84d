import { afterAll, beforeAll } from 'vitest';
import { type IdentityEndpoint, type IdentityProtocol, startIdentityEndpoint } from '../../src/index.js';
import { useManagedIdentityEnvironment } from './token-requests.js';

/** The managed-identity protocols; workload identity is tested on its own (it is not a managed-identity source). */
export type ManagedIdentityProtocol = Exclude<IdentityProtocol, 'workload-identity'>;

/** What each protocol answers differently, as the real services do. */
export interface ProtocolCase {
  protocol: IdentityProtocol;
  title: string;
  environment: (endpoint: IdentityEndpoint) => Record<string, string>;
  /** `getManagedIdentitySource()` in MSAL. */
  msalSource: string;
  unknownIdentity: { message: string; errorCode: string };
}

export const protocolCases: Record<ManagedIdentityProtocol, ProtocolCase> = {
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

/**
 * For a test file: an identity endpoint started before its tests, with the protocol's environment
 * set (MSAL reads it once per process), and stopped after them. Returns the running endpoint.
 */
export function useEndpointForProtocol(facts: ProtocolCase): () => IdentityEndpoint {
  let endpoint: IdentityEndpoint | undefined;
  let restoreEnvironment: (() => void) | undefined;
  beforeAll(async () => {
    endpoint = await startIdentityEndpoint();
    restoreEnvironment = useManagedIdentityEnvironment(facts.environment(endpoint));
  });
  afterAll(async () => {
    await endpoint?.stop();
    restoreEnvironment?.();
  });
  return () => {
    if (!endpoint) throw new Error('the identity endpoint is used before beforeAll started it');
    return endpoint;
  };
}
