import { createTokenProvider, type TokenProvider } from '@keyless/core';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { useManagedIdentityEnvironment } from '@keyless/testing';

/** The local stack with its Key Vault emulator, the App Service identity variables set, and a provider for the app identity. */
export interface KeyVaultTestStack {
  stack: LocalAzure;
  tokenProvider: TokenProvider;
  /** Closes the provider, restores the environment and stops the stack. */
  stop(): Promise<void>;
}

export async function startKeyVaultTestStack(): Promise<KeyVaultTestStack> {
  const stack = await startLocalAzure({
    services: ['keyvault'],
    stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER,
  });
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
