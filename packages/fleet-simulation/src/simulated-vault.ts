import type { VaultSettings } from './scenario.js';
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
  readonly #maxGets: number;
  readonly #time: VirtualTime;
  readonly #traffic: TrafficTally;
  readonly #admitted = new SlidingWindow(tenSeconds);
  readonly #secrets = new Map<string, StoredSecret>();

  constructor(settings: VaultSettings, time: VirtualTime, phaseOf: PhaseOf) {
    this.#traffic = new TrafficTally(tenSeconds, phaseOf);
    this.#maxGets = settings.maxGetsPerTenSeconds;
    this.#time = time;
  }

  /** Writes a new version (the first one, or a rotation). */
  setSecret(name: string, value: string): string {
    const previous = this.#secrets.get(name);
    const version = `v${previous === undefined ? 1 : Number(previous.version.slice(1)) + 1}`;
    this.#secrets.set(name, { value, version });
    return version;
  }

  /**
   * One GET, answered at the same virtual instant: the limit is a count per 10 s, which latency
   * does not change, and answers without events of their own keep a 48-hour fleet run within
   * seconds of CPU.
   */
  get(name: string): VaultAnswer {
    const now = this.#time.now();
    this.#traffic.arrive(now, 1);
    if (this.#admitted.count(now) >= this.#maxGets) {
      this.#traffic.throttled();
      const freeAt = this.#admitted.nextExpiry(now) ?? now;
      return { status: 429, retryAfter: String(Math.max(1, Math.ceil((freeAt - now) / 1000))) };
    }
    this.#admitted.add(now);
    const secret = this.#secrets.get(name);
    return secret === undefined ? { status: 404 } : { status: 200, ...secret };
  }

  snapshot(): VaultStatistics {
    return this.#traffic.snapshot();
  }
}
