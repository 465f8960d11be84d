const fiveMinutesMs = 5 * 60_000;
const tenMinutesMs = 10 * 60_000;

/**
 * Azure's margin: "Ensure that your client application sends a new Microsoft Entra token at least
 * three minutes before token expiry to avoid connection disruption", with jitter so that the AUTH
 * commands are staggered
 * (https://learn.microsoft.com/azure/azure-cache-for-redis/cache-azure-active-directory-for-authentication#best-practices-for-microsoft-entra-authentication).
 */
export const azureReauthenticationMarginMs = 3 * 60_000;

/**
 * How long after receiving a token with `lifetimeMs` left its connections send the next `AUTH`:
 *
 * - ten minutes or more left: at 70% of it, or 5 minutes before expiry when that is earlier;
 * - less: promptly, at half of it, and never later than Azure's 3 minutes before expiry — a token
 *   handed over with little time left (IMDS gives every process on a VM the token it caches) is
 *   replaced as soon as the provider can;
 * - 3 minutes or less: the margin cannot be kept, so at once (the provider is asked again at its
 *   own refresh point until it has a newer token).
 *
 * Jitter moves it up to a tenth earlier, never later, so a fleet that started together does not
 * re-authenticate together.
 */
export function reauthenticationDelay(lifetimeMs: number, random: () => number = Math.random): number {
  if (!(lifetimeMs > 0)) return 0;
  const deadline =
    lifetimeMs >= tenMinutesMs
      ? Math.min(0.7 * lifetimeMs, lifetimeMs - fiveMinutesMs)
      : Math.max(0, Math.min(0.5 * lifetimeMs, lifetimeMs - azureReauthenticationMarginMs));
  return Math.max(0, Math.round(deadline * (1 - 0.1 * random())));
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

/**
 * How long a re-AUTH may wait for its answer before the connection is reconnected instead (with
 * the newest token in its handshake): `AUTH` queues behind the commands already sent, and one
 * blocked in `BLPOP key 0` never lets it through. Half the time the old token has left, at most
 * 30 s, at least a second.
 */
export function reauthenticationAnswerTimeout(oldTokenLeftMs: number): number {
  return Math.round(Math.min(30_000, Math.max(1000, oldTokenLeftMs / 2)));
}
