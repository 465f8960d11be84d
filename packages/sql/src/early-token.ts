import type { TokenProvider } from '@keyless/core';
import { sqlScope } from './login-error-mapping.js';

type Token = Awaited<ReturnType<TokenProvider['getToken']>>;

/**
 * Servers whose login asks for a token for `https://database.windows.net/.default`: Azure SQL
 * Database in Azure's public cloud (the FEDAUTHINFO the server sends names the SPN
 * `https://database.windows.net/`, and tedious asks for `<spn>/.default`; Microsoft's token request
 * for Azure SQL: https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/tutorial-windows-vm-access-sql),
 * and this machine (the local stack's SQL endpoint announces the same SPN). For any other host —
 * a sovereign cloud, a custom DNS name — the scope is not known before the server says it, and no
 * early request is made: a request for the wrong resource would cost a round trip to the identity
 * endpoint for nothing.
 */
const publicCloudSqlHost = /\.database\.windows\.net$/i;
const thisMachine = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

/** The scope tedious will ask for at `server`, when it is known before the login. */
export function knownTokenScope(server: string): string | undefined {
  return publicCloudSqlHost.test(server) || thisMachine.test(server) ? sqlScope : undefined;
}

/**
 * The token request of a login, started when the login starts rather than when tedious asks for
 * the token (after TCP, PRELOGIN, TLS and LOGIN7, one round trip each): in a cold process the token
 * — the first request to the identity endpoint, and the backend library's first use — and the
 * server's handshake then overlap instead of following one another (README, "What loads when").
 *
 * Only for a keyless TokenProvider, which caches and answers concurrent callers with one request:
 * the early request and tedious's are then one request, and a warm login finds the token cached. A
 * custom credential is asked exactly when tedious asks, as before. The token is handed to tedious
 * only when it asks for exactly this scope, and only once.
 */
export class EarlyToken {
  readonly #scope: string;
  #pending: Promise<Token> | undefined;

  constructor(source: Pick<TokenProvider, 'getToken'>, scope: string) {
    this.#scope = scope;
    // A provider that throws instead of rejecting fails this request, not the login that started it.
    this.#pending = Promise.resolve().then(() => source.getToken(scope));
    // A login that fails before tedious asks never takes it: its rejection is not unhandled then.
    this.#pending.catch(() => undefined);
  }

  /** The early request, if tedious asks for its scope and nobody has taken it yet. */
  take(scopes: string | string[]): Promise<Token> | undefined {
    const asked = typeof scopes === 'string' ? scopes : scopes.length === 1 ? scopes[0] : undefined;
    if (asked !== this.#scope) return undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    return pending;
  }
}
