import { type CardName, cardNames } from '../cards.js';
import { RingBuffer } from './ring-buffer.js';

/** One card's activity during one sampling interval (deltas, not totals). */
export interface CardActivity {
  operations: number;
  failures: number;
  /** Token requests the identity endpoint received for the card's scope; null when not measured. */
  identityRequests: number | null;
  /** Requests the Key Vault received (the whole vault, every caller); null when not measured. */
  keyVaultRequests: number | null;
}

export interface ActivitySample {
  at: number;
  cards: Record<CardName, CardActivity>;
}

/** Running totals the sampler turns into per-interval deltas. */
export interface ActivitySources {
  operations(card: CardName): { operations: number; failures: number };
  /** Token requests for this scope so far, or undefined when the demo cannot see them. */
  identityRequests(scope: string): number | undefined;
  /** Key Vault requests so far, or undefined when the demo cannot see them (Azure mode). */
  keyVaultRequests(): number | undefined;
}

export interface ActivitySamplerOptions {
  sources: ActivitySources;
  scopes: Record<CardName, string>;
  intervalMs?: number;
  /** How many samples are kept: the plots' time window is `capacity × intervalMs`. */
  capacity?: number;
}

type Totals = Record<CardName, { operations: number; failures: number; identity: number | undefined }>;

/**
 * Samples the counters every interval into a ring buffer, so the page can plot the last minutes
 * without the server keeping every request. Deltas, because what the page shows is a rate; the
 * timer is unref'd so the sampler never keeps the process alive.
 */
export class ActivitySampler {
  readonly intervalMs: number;
  readonly #buffer: RingBuffer<ActivitySample>;
  readonly #sources: ActivitySources;
  readonly #scopes: Record<CardName, string>;
  #previous: { totals: Totals; keyVault: number | undefined } | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ActivitySamplerOptions) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.#buffer = new RingBuffer(options.capacity ?? 300);
    this.#sources = options.sources;
    this.#scopes = options.scopes;
  }

  get windowMs(): number {
    return this.#buffer.capacity * this.intervalMs;
  }

  start(): void {
    if (this.#timer) return;
    this.#previous = this.#read();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Takes one sample now (the timer calls it; tests may too). */
  sample(at = Date.now()): ActivitySample {
    const current = this.#read();
    const previous = this.#previous ?? current;
    const keyVault = delta(current.keyVault, previous.keyVault);
    const cards = {} as Record<CardName, CardActivity>;
    for (const name of cardNames) {
      const now = current.totals[name];
      const before = previous.totals[name];
      cards[name] = {
        operations: now.operations - before.operations,
        failures: now.failures - before.failures,
        identityRequests: delta(now.identity, before.identity),
        keyVaultRequests: keyVault,
      };
    }
    this.#previous = current;
    const sample = { at, cards };
    this.#buffer.push(sample);
    return sample;
  }

  samples(): ActivitySample[] {
    return this.#buffer.toArray();
  }

  #read(): { totals: Totals; keyVault: number | undefined } {
    const totals = {} as Totals;
    for (const name of cardNames) {
      totals[name] = {
        ...this.#sources.operations(name),
        identity: this.#sources.identityRequests(this.#scopes[name]),
      };
    }
    return { totals, keyVault: this.#sources.keyVaultRequests() };
  }
}

/** Counters can be reset (a test, a new endpoint): a negative step reads as zero, not as a dip. */
function delta(now: number | undefined, before: number | undefined): number | null {
  if (now === undefined || before === undefined) return null;
  return Math.max(0, now - before);
}
