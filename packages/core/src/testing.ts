/**
 * `@keyless/core/testing`: seams for tests and simulations (a clock that moves when told, a
 * provider with an injected backend). Not for applications, and not covered by semver.
 */
export type { FetchedToken } from './access-token.js';
export type { TokenBackend, TokenRequest } from './backends/token-backend.js';
export { ManualClock, settle } from './manual-clock.js';
export { createTokenProviderWithInternals, type TokenProviderInternals } from './token-provider.js';
