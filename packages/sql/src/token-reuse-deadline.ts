/**
 * Until when a pooled connection may be handed out, given the expiry of the token it logged in with.
 *
 * Azure SQL checks the token at login and may check it again during the session: a statement on a
 * session whose token has expired is answered with error 18456 "Token is expired" (the session is
 * then closed) or 37396 "Query cannot be executed, access token is expired. Please login with a new
 * access token". A session cannot be given a new token, so the cure is a new login — see
 * https://github.com/dotnet/SqlClient/issues/2792 (Microsoft's SqlClient team: "the application must
 * close and open a new connection") and https://github.com/dotnet/SqlClient/pull/635 (SqlClient
 * stopped reusing pooled connections whose token is about to expire).
 *
 * The margin is 5 minutes, or a quarter of the token's remaining life when that is shorter:
 * - 5 minutes is when keyless's token cache starts fetching the next token, so a connection retired
 *   then is replaced by a login with that new token, not with the old one again;
 * - it leaves room for a statement or transaction that starts just before the deadline, and for a
 *   server clock that runs ahead of ours;
 * - a token handed over with little life left (the cache serves the current token while its
 *   refresh is under way, down to its last 30 s) still gives its connection three quarters of that
 *   life, rather than none, so a pool never logs in connections it cannot use.
 */
export const tokenReuseMarginMs = 5 * 60_000;

export function tokenReuseDeadline(loggedInAt: number, tokenExpiresOn: number | undefined): number {
  // A custom credential may not say when its token expires: pool.maxLifetimeMs still applies.
  if (tokenExpiresOn === undefined || !Number.isFinite(tokenExpiresOn)) return Number.POSITIVE_INFINITY;
  const remaining = tokenExpiresOn - loggedInAt;
  const margin = Math.min(tokenReuseMarginMs, Math.max(0, remaining / 4));
  return tokenExpiresOn - margin;
}
