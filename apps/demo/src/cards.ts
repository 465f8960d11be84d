import type { ErrorBody } from './errors.js';
import { describeError } from './errors.js';

export const cardNames = ['blob', 'keyvault', 'sql', 'postgres', 'redis'] as const;
export type CardName = (typeof cardNames)[number];

/** What the page shows on one card. Never a token or secret value. */
export interface CardState {
  name: CardName;
  title: string;
  /** Where it points (host / URL), and how it authenticates. */
  target: string;
  auth: string;
  status: 'starting' | 'healthy' | 'failing';
  answeredOnce: boolean;
  lastCheckedAt: number | undefined;
  lastLatencyMs: number | undefined;
  /** The token backend of the provider that served this card's token, and the identity. */
  backend: string | undefined;
  identity: string | undefined;
  tokenScope: string;
  tokenExpiresAt: number | undefined;
  lastError: (ErrorBody & { at: number }) | undefined;
  /** e.g. "rotations handled: 2". */
  notes: Record<string, string | number>;
}

export interface TokenSource {
  readonly backend: string;
  readonly identityDescription: string;
  getToken(scope: string): Promise<{ expiresOnTimestamp: number }>;
}

export class CardBoard {
  readonly #cards = new Map<CardName, CardState>();
  /** Running totals per card, which the dashboard's sampler turns into rates. */
  readonly #counts = new Map<CardName, { operations: number; failures: number }>();

  constructor(
    definitions: ReadonlyArray<Pick<CardState, 'name' | 'title' | 'target' | 'auth' | 'tokenScope'>>,
  ) {
    for (const definition of definitions) {
      this.#cards.set(definition.name, {
        ...definition,
        status: 'starting',
        answeredOnce: false,
        lastCheckedAt: undefined,
        lastLatencyMs: undefined,
        backend: undefined,
        identity: undefined,
        tokenExpiresAt: undefined,
        lastError: undefined,
        notes: {},
      });
      this.#counts.set(definition.name, { operations: 0, failures: 0 });
    }
  }

  /** Operations run on the card so far (status checks included), and how many failed. */
  counts(name: CardName): { operations: number; failures: number } {
    const counts = this.#counts.get(name);
    if (!counts) throw new Error(`no card ${name}`);
    return { ...counts };
  }

  card(name: CardName): CardState {
    const card = this.#cards.get(name);
    if (!card) throw new Error(`no card ${name}`);
    return card;
  }

  all(): CardState[] {
    return cardNames.map((name) => structuredClone(this.card(name)));
  }

  get ready(): boolean {
    return cardNames.every((name) => this.card(name).answeredOnce);
  }

  note(name: CardName, key: string, update: (previous: number) => number): void {
    const notes = this.card(name).notes;
    notes[key] = update(Number(notes[key] ?? 0));
  }

  /**
   * Runs one operation for a card, timing it and recording the outcome. The token's expiry comes
   * from the provider's cache (the same token the connector used; no extra endpoint request).
   */
  async run<Result>(name: CardName, tokens: TokenSource, operation: () => Promise<Result>): Promise<Result> {
    const card = this.card(name);
    const counts = this.#counts.get(name) as { operations: number; failures: number };
    counts.operations += 1;
    const started = performance.now();
    try {
      const result = await operation();
      card.lastLatencyMs = Math.round((performance.now() - started) * 10) / 10;
      card.lastCheckedAt = Date.now();
      card.status = 'healthy';
      card.answeredOnce = true;
      card.backend = tokens.backend;
      card.identity = tokens.identityDescription;
      card.tokenExpiresAt = await tokens
        .getToken(card.tokenScope)
        .then((token) => token.expiresOnTimestamp)
        .catch(() => card.tokenExpiresAt);
      return result;
    } catch (error) {
      counts.failures += 1;
      const described = describeError(error);
      card.lastLatencyMs = Math.round((performance.now() - started) * 10) / 10;
      card.lastCheckedAt = Date.now();
      card.status = 'failing';
      card.lastError = {
        code: described.code,
        message: described.message,
        hint: described.hint,
        at: Date.now(),
      };
      throw error;
    }
  }
}
