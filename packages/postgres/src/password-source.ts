import type { TokenProvider } from '@keyless/core';
import { bindPasswordSource, type PasswordBinding } from '@keyless/keyvault/internal';

/** Azure Database for PostgreSQL's Entra audience. */
export const entraScope = 'https://ossrdbms-aad.database.windows.net/.default';
export const passwordSecretVariable = 'KEYLESS_POSTGRES_PASSWORD_SECRET';

/**
 * The option `password` (`fromKeyVaultSecret()` / `entraToken()` of @keyless/core) bound for this
 * connector by the binding every password connector shares: the secret name from
 * KEYLESS_POSTGRES_PASSWORD_SECRET when the source names none, tokens for Azure Database for
 * PostgreSQL. Which password a refused login sent is pg's business (see keyless-pool.ts).
 */
export function bindPostgresPassword(
  source: unknown,
  tokenProvider: () => TokenProvider,
  environment: Readonly<Record<string, string | undefined>>,
): PasswordBinding {
  return bindPasswordSource(source, {
    service: 'PostgreSQL',
    secretNameVariable: passwordSecretVariable,
    defaultScope: entraScope,
    tokenProvider,
    environment,
  });
}
