import type { VaultSettings } from './scenario.js';
import type { SeededRandom } from './seeded-random.js';
import { SlidingWindow } from './sliding-window.js';
import { type PhasedTraffic, type PhaseOf, TrafficTally } from './traffic-tally.js';
import type { VirtualTime } from './virtual-time.js';

export interface VaultAnswer {
  status: number;
  value?: string;
  version?: string;
  retryAfter?: string;
}

/** GETs per phase; the window of `peakPerWindow` is 10 seconds. */
export type VaultStatistics = PhasedTraffic;

interface StoredSecret {
  value: string;
  version: string;
}

const tenSeconds = 10_000;

/**
 * The fleet's one Key Vault, secret GETs only. Above the published limit (4,000 transactions per
 * 10 s per vault) it answers 429; throttled requests do not count towards the limit (Key Vault's
 * throttling guidance). Retry-After says when the oldest counted GET leaves the window (an
 * assumption: the docs do not give the header's value).
 */
export class SimulatedVault {
  readonly #settings: VaultSettings;
  readonly #time: VirtualTime;
  readonly #random: SeededRandom;
  readonly #traffic: TrafficTally;
  readonly #admitted = new SlidingWindow(tenSeconds);
  readonly #secrets = new Map<string, StoredSecret>();
  #inFlight = 0;

  constructor(settings: VaultSettings, time: VirtualTime, random: SeededRandom, phaseOf: PhaseOf) {
    this.#traffic = new TrafficTally(tenSeconds, phaseOf);
    this.#settings = settings;
    this.#time = time;
    this.#random = random;
  }

  /** Writes a new version (the first one, or a rotation). */
  setSecret(name: string, value: string): string {
    const previous = this.#secrets.get(name);
    const version = `v${previous === undefined ? 1 : Number(previous.version.slice(1)) + 1}`;
    this.#secrets.set(name, { value, version });
    return version;
  }

  current(name: string): string | undefined {
    return this.#secrets.get(name)?.value;
  }

  get(name: string): Promise<VaultAnswer> {
    const now = this.#time.now();
    this.#traffic.arrive(now, this.#inFlight + 1);
    const settings = this.#settings;
    if (this.#admitted.count(now) >= settings.maxGetsPerTenSeconds) {
      this.#traffic.throttled();
      const freeAt = this.#admitted.nextExpiry(now) ?? now;
      const retryAfter = String(Math.max(1, Math.ceil((freeAt - now) / 1000)));
      return this.#answerAfter(settings.rejectionLatencyMs, () => ({ status: 429, retryAfter }));
    }
    this.#admitted.add(now);
    this.#inFlight += 1;
    const [fastest, slowest] = settings.latencyMs;
    const latency = slowest > 0 ? this.#random.logUniform(fastest, slowest) : 0;
    return this.#answerAfter(latency, () => {
      this.#inFlight -= 1;
      // Read when the answer leaves, so a rotation during the request is seen as it would be.
      const secret = this.#secrets.get(name);
      return secret === undefined ? { status: 404 } : { status: 200, ...secret };
    });
  }

  snapshot(): VaultStatistics {
    return this.#traffic.snapshot();
  }

  #answerAfter(delayMs: number, answer: () => VaultAnswer): Promise<VaultAnswer> {
    // Instant answers need no event of their own: the caller continues at this virtual instant.
    if (delayMs <= 0) return Promise.resolve(answer());
    return new Promise((resolve) => {
      this.#time.after(delayMs, () => resolve(answer()));
    });
  }
}
