import type { FetchedSecret } from '../../src/secret-source.js';

interface Deferred {
  resolve(value: FetchedSecret): void;
  reject(error: unknown): void;
}

/**
 * Stands in for one Key Vault GET. Answers with the current value and version, or with the
 * failures queued by the test; `hold()` keeps the next answers pending until `release()`.
 */
export class FakeFetcher {
  calls = 0;
  value = 'fake-value-one';
  version = 'version1';
  readonly #failures: unknown[] = [];
  #holding = false;
  readonly #held: Deferred[] = [];

  readonly fetch = (): Promise<FetchedSecret> => {
    this.calls += 1;
    if (this.#holding) {
      return new Promise((resolve, reject) => this.#held.push({ resolve, reject }));
    }
    const failure = this.#failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    return Promise.resolve({ value: this.value, version: this.version });
  };

  rotate(value: string, version: string): void {
    this.value = value;
    this.version = version;
  }

  failNext(error: unknown, times = 1): void {
    for (let index = 0; index < times; index += 1) this.#failures.push(error);
  }

  hold(): void {
    this.#holding = true;
  }

  /** Answers every held request with the current value. */
  release(): void {
    this.#holding = false;
    for (const deferred of this.#held.splice(0))
      deferred.resolve({ value: this.value, version: this.version });
  }

  get heldRequests(): number {
    return this.#held.length;
  }
}
