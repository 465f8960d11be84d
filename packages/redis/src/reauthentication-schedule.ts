const fiveMinutesMs = 5 * 60_000;

/**
 * How long after receiving a token of `lifetimeMs` (time left until expiry) its connections send
 * the next `AUTH`: at 70% of the lifetime, or 5 minutes before expiry when that is earlier and
 * the lifetime allows it (ten minutes or more); shorter-lived tokens get 70%. Jitter moves it up to 10% of the
 * lifetime earlier, so a fleet that started together does not re-authenticate together.
 */
export function reauthenticationDelay(lifetimeMs: number, random: () => number = Math.random): number {
  if (!(lifetimeMs > 0)) return 0;
  const fiveMinutesEarly = lifetimeMs - fiveMinutesMs;
  // Below ten minutes, "5 minutes early" would be before half-time: 70% it is.
  const deadline =
    fiveMinutesEarly >= 0.5 * lifetimeMs ? Math.min(0.7 * lifetimeMs, fiveMinutesEarly) : 0.7 * lifetimeMs;
  return Math.max(0, Math.round(deadline - random() * 0.1 * lifetimeMs));
}

/**
 * When the provider still hands back the token the connections already use (it has not refreshed
 * yet), when to ask again: at its own refresh point, but at least a second from now and, as long
 * as that comes before expiry, no later than it.
 */
export function retryDelay(now: number, refreshAfterTimestamp: number, expiresOnTimestamp: number): number {
  const atRefresh = refreshAfterTimestamp - now;
  if (atRefresh >= 1000 && refreshAfterTimestamp < expiresOnTimestamp) return atRefresh;
  return 1000;
}
