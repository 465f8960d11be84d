import { SlidingWindow } from './sliding-window.js';

/** Parts of the run reported apart: the two mass starts, and everything else. */
export const phases = ['deploy', 'restart', 'steady'] as const;
export type Phase = (typeof phases)[number];
export type PhaseOf = (time: number) => Phase;

/** What a service saw in one part of the run (or the whole of it). */
export interface Traffic {
  requests: number;
  /** Answered 429. */
  throttled: number;
  /** Answered an outage status. */
  failed: number;
  /** Most requests that arrived within any one window (sliding; rejected ones included). */
  peakPerWindow: number;
  peakPerWindowAt: number | undefined;
  /** Most requests open at once, counting an arriving request as open whether or not it was let in. */
  peakConcurrent: number;
  peakConcurrentAt: number | undefined;
}

export interface PhasedTraffic {
  total: Traffic;
  byPhase: Record<Phase, Traffic>;
}

class TrafficCounter {
  readonly #arrivals: SlidingWindow;
  requests = 0;
  throttled = 0;
  failed = 0;
  peakConcurrent = 0;
  peakConcurrentAt: number | undefined;

  constructor(windowMs: number) {
    this.#arrivals = new SlidingWindow(windowMs);
  }

  arrive(now: number, open: number): void {
    this.requests += 1;
    this.#arrivals.add(now);
    if (open > this.peakConcurrent) {
      this.peakConcurrent = open;
      this.peakConcurrentAt = now;
    }
  }

  snapshot(): Traffic {
    return {
      requests: this.requests,
      throttled: this.throttled,
      failed: this.failed,
      peakPerWindow: this.#arrivals.peak,
      peakPerWindowAt: this.#arrivals.peakAt,
      peakConcurrent: this.peakConcurrent,
      peakConcurrentAt: this.peakConcurrentAt,
    };
  }
}

/** Counts a service's requests for the whole run and per phase. */
export class TrafficTally {
  readonly #phaseOf: PhaseOf;
  readonly #total: TrafficCounter;
  readonly #byPhase: Record<Phase, TrafficCounter>;
  #current: TrafficCounter;

  constructor(windowMs: number, phaseOf: PhaseOf) {
    this.#phaseOf = phaseOf;
    this.#total = new TrafficCounter(windowMs);
    this.#byPhase = {
      deploy: new TrafficCounter(windowMs),
      restart: new TrafficCounter(windowMs),
      steady: new TrafficCounter(windowMs),
    };
    this.#current = this.#byPhase.steady;
  }

  /** Records an arrival; `open` counts the requests in flight including this one. */
  arrive(now: number, open: number): void {
    this.#current = this.#byPhase[this.#phaseOf(now)];
    this.#total.arrive(now, open);
    this.#current.arrive(now, open);
  }

  /** The request that just arrived was answered 429. */
  throttled(): void {
    this.#total.throttled += 1;
    this.#current.throttled += 1;
  }

  /** The request that just arrived was answered with an outage status. */
  failed(): void {
    this.#total.failed += 1;
    this.#current.failed += 1;
  }

  snapshot(): PhasedTraffic {
    return {
      total: this.#total.snapshot(),
      byPhase: {
        deploy: this.#byPhase.deploy.snapshot(),
        restart: this.#byPhase.restart.snapshot(),
        steady: this.#byPhase.steady.snapshot(),
      },
    };
  }
}
