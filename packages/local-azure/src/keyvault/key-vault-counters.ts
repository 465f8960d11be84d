import type { KeyVaultCounters } from './key-vault-types.js';

export class KeyVaultRequestCounters implements KeyVaultCounters {
  #requests = 0;
  readonly #operations = new Map<string, number>();
  readonly #statuses = new Map<number, number>();

  get requests(): number {
    return this.#requests;
  }

  byOperation(operation: string): number {
    return this.#operations.get(operation) ?? 0;
  }

  byStatus(status: number): number {
    return this.#statuses.get(status) ?? 0;
  }

  reset(): void {
    this.#requests = 0;
    this.#operations.clear();
    this.#statuses.clear();
  }

  recordRequest(operation: string | undefined): void {
    this.#requests += 1;
    if (operation !== undefined) this.#operations.set(operation, this.byOperation(operation) + 1);
  }

  recordAnswer(status: number): void {
    this.#statuses.set(status, this.byStatus(status) + 1);
  }
}
