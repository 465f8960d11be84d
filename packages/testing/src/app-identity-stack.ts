import { createTokenProvider, type TokenProvider } from '@keyless/core';
import { type LocalAzure, type LocalServiceName, startLocalAzure } from '@keyless/local-azure';
import { useManagedIdentityEnvironment } from './managed-identity-environment.js';

/** The local stack seen as the app sees it on App Service: the identity variables set, a provider for the app identity. */
export interface AppIdentityStack {
  stack: LocalAzure;
  /** The app identity (the roles and users the stack grants it). */
  tokenProvider: TokenProvider;
  /** Closes the provider, puts the environment back and stops the stack. */
  stop(): Promise<void>;
}

/**
 * Starts `services` of the local stack in the test state folder the global setup made
 * (KEYLESS_TEST_STATE_FOLDER), points the managed-identity environment at its identity endpoint
 * (App Service protocol) and makes a token provider for the app identity.
 */
export async function startAppIdentityStack(
  services: readonly LocalServiceName[],
): Promise<AppIdentityStack> {
  const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER;
  if (!stateFolder)
    throw new Error('KEYLESS_TEST_STATE_FOLDER is not set: use the global setup of @keyless/testing');
  const stack = await startLocalAzure({ services, stateFolder });
  const restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
  const tokenProvider = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  return {
    stack,
    tokenProvider,
    async stop() {
      await tokenProvider.close();
      restoreEnvironment();
      await stack.stop();
    },
  };
}
