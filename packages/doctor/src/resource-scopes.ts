import { isIP } from 'node:net';

/**
 * The token scope each connector asks for: Key Vault's is the vault host's DNS suffix
 * (`https://vault.azure.net` for `<name>.vault.azure.net`, a sovereign cloud's own suffix there;
 * https://learn.microsoft.com/azure/key-vault/general/authentication-requests-and-responses), the
 * others are fixed resources of the public cloud.
 */
export const resourceScopes = {
  blob: 'https://storage.azure.com/.default',
  sql: 'https://database.windows.net/.default',
  postgres: 'https://ossrdbms-aad.database.windows.net/.default',
  redis: 'https://redis.azure.com/.default',
} as const;

export function keyVaultScope(vaultUrl: string): string {
  let host = '';
  try {
    host = new URL(vaultUrl).hostname;
  } catch {
    return 'https://vault.azure.net/.default';
  }
  const loopback = host === 'localhost' || isIP(host.replace(/^\[|\]$/g, '')) !== 0;
  const suffix = host.slice(host.indexOf('.') + 1);
  return !loopback && host.includes('.') && suffix.startsWith('vault.')
    ? `https://${suffix}/.default`
    : 'https://vault.azure.net/.default';
}
