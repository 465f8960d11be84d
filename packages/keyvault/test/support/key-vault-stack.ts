import { type AppIdentityStack, startAppIdentityStack } from '@keyless/testing';

/** The local stack with its Key Vault emulator, as the app identity (Key Vault Secrets User). */
export type KeyVaultTestStack = AppIdentityStack;

export function startKeyVaultTestStack(): Promise<KeyVaultTestStack> {
  return startAppIdentityStack(['keyvault']);
}
