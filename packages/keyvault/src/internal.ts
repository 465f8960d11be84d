/**
 * `@keyless/keyvault/internal`: what keyless's own connectors share — the binding of a password
 * source (`fromKeyVaultSecret()` / `entraToken()` of @keyless/core) that the PostgreSQL and Redis
 * connectors log in with. Not for applications, and not covered by semver.
 */
export {
  bindPasswordSource,
  type PasswordBinding,
  type PasswordBindingContext,
  type PasswordChangeEvent,
  type PasswordDescription,
  renewDelaysMs,
} from './password-binding.js';
