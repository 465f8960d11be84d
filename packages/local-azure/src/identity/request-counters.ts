import type { IdentityCounters } from './identity-types.js';

export class RequestCounters implements IdentityCounters {
  #tokenRequests = 0;
  #tokensIssued = 0;
  #refusedConnections = 0;
  readonly #resources = new Map<string, number>();
  readonly #statuses = new Map<number, number>();

  get tokenRequests(): number {
    return this.#tokenRequests;
  }

  get tokensIssued(): number {
    return this.#tokensIssued;
  }

  get refusedConnections(): number {
    return this.#refusedConnections;
  }

  byResource(resource: string): number {
    return this.#resources.get(resource) ?? 0;
  }

  byStatus(status: number): number {
    return this.#statuses.get(status) ?? 0;
  }

  reset(): void {
    this.#tokenRequests = 0;
    this.#tokensIssued = 0;
    this.#refusedConnections = 0;
    this.#resources.clear();
    this.#statuses.clear();
  }

  recordTokenRequest(resource: string | undefined): void {
    this.#tokenRequests += 1;
    if (resource !== undefined) this.#resources.set(resource, this.byResource(resource) + 1);
  }

  recordRefusedConnection(): void {
    this.#refusedConnections += 1;
  }

  recordAnswer(status: number): void {
    this.#statuses.set(status, this.byStatus(status) + 1);
    if (status === 200) this.#tokensIssued += 1;
  }
}
