import type { Clock } from '@keyless/core/internal';
import { sendThroughImdsPipeline } from './azure-retry-policy.js';
import type { SeededRandom } from './seeded-random.js';
import { msalRefreshOn, type SimulatedImds } from './simulated-imds.js';

/** The shape of @azure/core-auth's AccessToken, as the SDK's pipelines see it. */
export interface AccessToken {
  token: string;
  expiresOnTimestamp: number;
  refreshAfterTimestamp?: number;
}

interface MsalCachedToken {
  token: string;
  expiresOn: number;
  refreshOn: number | undefined;
}

/** MSAL treats a token this close to expiry as expired (DEFAULT_TOKEN_RENEWAL_OFFSET_SEC). */
const msalRenewalOffsetMs = 300_000;

/**
 * What `new ManagedIdentityCredential()` of @azure/identity 4.x does, as read in its source and
 * MSAL's (msal-node ManagedIdentityApplication.acquireToken):
 * - one token cache per process (MSAL's is static), no coalescing: every caller that finds no
 *   usable token sends its own request;
 * - a cached token past MSAL's refresh_on is refreshed while the caller waits, and the caller gets
 *   the old token back; an HTTP error during that refresh is logged and swallowed;
 * - requests go through the identity pipeline's retries (imdsRetryPolicy + defaultRetryPolicy).
 */
export class RawManagedIdentityCredential {
  readonly #imds: SimulatedImds;
  readonly #clock: Clock;
  readonly #random: SeededRandom;
  readonly #cache = new Map<string, MsalCachedToken>();

  constructor(imds: SimulatedImds, clock: Clock, random: SeededRandom) {
    this.#imds = imds;
    this.#clock = clock;
    this.#random = random;
  }

  async getToken(scope: string): Promise<AccessToken> {
    const resource = scope.replace(/\/\.default$/, '');
    const cached = this.#cache.get(resource);
    const now = this.#clock.now();
    if (cached !== undefined && now < cached.expiresOn - msalRenewalOffsetMs) {
      if (cached.refreshOn !== undefined && now >= cached.refreshOn) {
        await this.#request(resource, true);
      }
      return toAccessToken(cached);
    }
    const fetched = await this.#request(resource, false);
    if (fetched === undefined) throw new Error('ManagedIdentityCredential: no token');
    return toAccessToken(fetched);
  }

  async #request(resource: string, refreshing: boolean): Promise<MsalCachedToken | undefined> {
    const requestedAt = this.#clock.now();
    const answer = await sendThroughImdsPipeline(
      () => this.#imds.request(resource),
      this.#clock,
      this.#random,
    );
    if (answer.status === 200 && answer.token !== undefined && answer.expiresOn !== undefined) {
      const entry = {
        token: answer.token,
        expiresOn: answer.expiresOn,
        refreshOn: msalRefreshOn(requestedAt, this.#clock.now(), answer.expiresOn),
      };
      this.#cache.set(resource, entry);
      return entry;
    }
    // MSAL's validateTokenResponse: an error answer to a background refresh is only logged.
    if (refreshing) return undefined;
    throw new Error(`ManagedIdentityCredential: authentication failed (IMDS answered ${answer.status})`);
  }
}

function toAccessToken(cached: MsalCachedToken): AccessToken {
  return {
    token: cached.token,
    expiresOnTimestamp: cached.expiresOn,
    ...(cached.refreshOn === undefined ? {} : { refreshAfterTimestamp: cached.refreshOn }),
  };
}
