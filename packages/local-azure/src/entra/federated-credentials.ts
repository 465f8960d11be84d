import type { FederatedIdentityCredential } from '../identity/identity-types.js';
import { tokenExchangeAudience } from './cluster-issuer.js';

export type FederatedMatch =
  | { kind: 'match'; credential: Required<FederatedIdentityCredential> }
  | { kind: 'no-issuer' }
  | { kind: 'no-subject-or-audience' };

/**
 * The federated identity credentials of each identity, by client id: issuer, subject and audiences,
 * compared exactly (case-sensitive) as Entra does
 * (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-create-trust-user-assigned-managed-identity).
 * A managed identity holds at most 20 of them (https://learn.microsoft.com/azure/aks/workload-identity-overview#limitations).
 */
export class FederatedCredentialStore {
  readonly #byClientId = new Map<string, Required<FederatedIdentityCredential>[]>();

  add(clientId: string, credential: FederatedIdentityCredential): void {
    for (const field of ['name', 'issuer', 'subject'] as const) {
      if (typeof credential[field] !== 'string' || credential[field] === '') {
        throw new TypeError(`federated credential: ${field} must be a non-empty string`);
      }
    }
    const audiences = credential.audiences ?? [tokenExchangeAudience];
    if (!Array.isArray(audiences) || audiences.length !== 1 || typeof audiences[0] !== 'string') {
      // Entra takes exactly one audience per federated credential.
      throw new TypeError('federated credential: audiences must hold exactly one string');
    }
    const key = clientId.toLowerCase();
    const existing = this.#byClientId.get(key) ?? [];
    if (existing.some((entry) => entry.name === credential.name)) {
      throw new TypeError(`federated credential '${credential.name}' already exists on identity ${clientId}`);
    }
    if (existing.length >= 20) {
      throw new RangeError(`identity ${clientId} already has 20 federated credentials, Azure's limit`);
    }
    existing.push(
      Object.freeze({
        name: credential.name,
        issuer: credential.issuer,
        subject: credential.subject,
        audiences: [...audiences],
      }),
    );
    this.#byClientId.set(key, existing);
  }

  remove(clientId: string, name: string): boolean {
    const existing = this.#byClientId.get(clientId.toLowerCase()) ?? [];
    const index = existing.findIndex((entry) => entry.name === name);
    if (index < 0) return false;
    existing.splice(index, 1);
    return true;
  }

  list(clientId: string): readonly Required<FederatedIdentityCredential>[] {
    return [...(this.#byClientId.get(clientId.toLowerCase()) ?? [])];
  }

  match(clientId: string, issuer: unknown, subject: unknown, audiences: readonly string[]): FederatedMatch {
    const candidates = this.list(clientId).filter((entry) => entry.issuer === issuer);
    if (candidates.length === 0) return { kind: 'no-issuer' };
    const credential = candidates.find(
      (entry) => entry.subject === subject && audiences.includes(entry.audiences[0] as string),
    );
    return credential ? { kind: 'match', credential } : { kind: 'no-subject-or-audience' };
  }
}
