import { ServiceUnavailableError, ThrottledError } from '@keyless/core';
import { type Clock, parseRetryAfter } from '@keyless/core/internal';
import type { FetchedToken, TokenBackend, TokenRequest } from '@keyless/core/testing';
import { msalRefreshOn, type SimulatedImds } from './simulated-imds.js';

/**
 * keyless's msal backend, with the network replaced by the VM's simulated IMDS: one call is one
 * request (MSAL's cache is bypassed with forceRefresh), the refresh hint is MSAL's, and failures
 * become the KeylessErrors the real backend's mapping produces for the same statuses.
 */
export class SimulatedTokenBackend implements TokenBackend {
  readonly name = 'msal' as const;
  readonly identity = { kind: 'system-assigned' } as const;
  readonly #imds: SimulatedImds;
  readonly #clock: Clock;

  constructor(imds: SimulatedImds, clock: Clock) {
    this.#imds = imds;
    this.#clock = clock;
  }

  async fetchToken(request: TokenRequest): Promise<FetchedToken> {
    const resource = request.scope.replace(/\/\.default$/, '');
    const requestedAt = this.#clock.now();
    const answer = await this.#imds.request(resource);
    const answeredAt = this.#clock.now();
    if (answer.status === 200 && answer.token !== undefined && answer.expiresOn !== undefined) {
      return {
        token: answer.token,
        expiresOnTimestamp: answer.expiresOn,
        refreshAfterTimestamp: msalRefreshOn(requestedAt, answeredAt, answer.expiresOn),
      };
    }
    const retryAfterMs = parseRetryAfter(answer.retryAfter, answeredAt);
    const options = { status: answer.status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    if (answer.status === 429) {
      throw new ThrottledError(`msal: token for ${resource} was throttled (429)`, options);
    }
    throw new ServiceUnavailableError(`msal: token for ${resource} failed (${answer.status})`, options);
  }
}
