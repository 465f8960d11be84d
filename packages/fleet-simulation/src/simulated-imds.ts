import type { ImdsSettings } from './scenario.js';
import type { SeededRandom } from './seeded-random.js';
import { SlidingWindow } from './sliding-window.js';
import { type PhasedTraffic, type PhaseOf, TrafficTally } from './traffic-tally.js';
import type { VirtualTime } from './virtual-time.js';

/** What the identity endpoint answered: a token, or a status (with Retry-After when it sent one). */
export interface ImdsAnswer {
  status: number;
  token?: string;
  /** Epoch milliseconds (the wire format is `expires_on` in seconds; nothing here needs the rounding). */
  expiresOn?: number;
  retryAfter?: string;
}

export interface ImdsStatistics extends PhasedTraffic {
  tokensMinted: number;
}

interface CachedToken {
  value: string;
  expiresOn: number;
}

/**
 * One VM's Instance Metadata Service, token endpoint only. It enforces the documented limits of
 * the managed-identity category (20 requests per second and 5 concurrent requests per VM, excess
 * rejected with 429) and, like the real service, keeps one token per resource for about a day and
 * hands it to every process on the VM.
 */
export class SimulatedImds {
  readonly #settings: ImdsSettings;
  readonly #time: VirtualTime;
  readonly #random: SeededRandom;
  readonly #name: string;
  readonly #admitted = new SlidingWindow(1000);
  readonly #tokens = new Map<string, CachedToken>();
  readonly #traffic: TrafficTally;
  #tokensMinted = 0;
  #inFlight = 0;
  #outageStatus: number | undefined;

  constructor(
    name: string,
    settings: ImdsSettings,
    time: VirtualTime,
    random: SeededRandom,
    phaseOf: PhaseOf,
  ) {
    this.#traffic = new TrafficTally(1000, phaseOf);
    this.#name = name;
    this.#settings = settings;
    this.#time = time;
    this.#random = random;
  }

  /** While set, every request is answered with this status (e.g. 410 during an IMDS upgrade). */
  setOutage(status: number | undefined): void {
    this.#outageStatus = status;
  }

  request(resource: string): Promise<ImdsAnswer> {
    const now = this.#time.now();
    this.#traffic.arrive(now, this.#inFlight + 1);
    const settings = this.#settings;
    if (this.#outageStatus !== undefined) {
      this.#traffic.failed();
      return this.#answerAfter(settings.rejectionLatencyMs, { status: this.#outageStatus });
    }
    if (
      this.#inFlight >= settings.maxConcurrentRequests ||
      this.#admitted.count(now) >= settings.maxRequestsPerSecond
    ) {
      this.#traffic.throttled();
      const retryAfter = settings.retryAfterSeconds;
      return this.#answerAfter(settings.rejectionLatencyMs, {
        status: 429,
        ...(retryAfter === undefined ? {} : { retryAfter: String(retryAfter) }),
      });
    }
    this.#inFlight += 1;
    this.#admitted.add(now);
    const latency = this.#random.logUniform(settings.latencyMs[0], settings.latencyMs[1]);
    return new Promise((resolve) => {
      this.#time.after(latency, () => {
        this.#inFlight -= 1;
        const token = this.#tokenFor(resource);
        resolve({ status: 200, token: token.value, expiresOn: token.expiresOn });
      });
    });
  }

  /** Statistics with the sliding-window peaks filled in. */
  snapshot(): ImdsStatistics {
    return { ...this.#traffic.snapshot(), tokensMinted: this.#tokensMinted };
  }

  #answerAfter(delayMs: number, answer: ImdsAnswer): Promise<ImdsAnswer> {
    return new Promise((resolve) => {
      this.#time.after(delayMs, () => resolve(answer));
    });
  }

  #tokenFor(resource: string): CachedToken {
    const now = this.#time.now();
    const cached = this.#tokens.get(resource);
    const reuseUntil = this.#settings.reuseTokensUntilRemainingMs;
    if (cached !== undefined && reuseUntil !== undefined && cached.expiresOn - now > reuseUntil)
      return cached;
    this.#tokensMinted += 1;
    // Not JWT-shaped on purpose: the repository's test run fails on anything that looks like a token.
    const minted = {
      value: `simulated-${this.#name}-${resource}-${this.#tokensMinted}`,
      expiresOn: now + this.#settings.tokenLifetimeMs,
    };
    this.#tokens.set(resource, minted);
    return minted;
  }
}

/**
 * When MSAL (and so @azure/identity's ManagedIdentityCredential, and keyless's msal backend) next
 * refreshes a managed-identity token: IMDS sends no refresh_in, so MSAL takes half the remaining
 * lifetime when that is over two hours, else none (BaseManagedIdentitySource.getServerTokenResponse).
 */
export function msalRefreshOn(
  requestedAt: number,
  answeredAt: number,
  expiresOn: number,
): number | undefined {
  const expiresInMs = expiresOn - answeredAt;
  return expiresInMs > 2 * 3600_000 ? requestedAt + expiresInMs / 2 : undefined;
}
