import { userAssignedResourceId } from './default-identities.js';
import type { ManagedIdentityDefinition, SystemAssignedIdentityDefinition } from './identity-types.js';

export type IdentitySelector =
  | { kind: 'system' }
  | { kind: 'client-id'; value: string }
  | { kind: 'object-id'; value: string }
  | { kind: 'resource-id'; value: string };

export type IdentityLookup =
  | { found: true; identity: ManagedIdentityDefinition }
  | { found: false; reason: 'no-system-identity' | 'unknown-identity' | 'several-user-assigned' };

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const userAssignedResourceIdPattern =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/[^/]+$/i;

export class IdentityRegistry {
  readonly #systemAssigned: SystemAssignedIdentityDefinition | undefined;
  readonly #userAssigned: ManagedIdentityDefinition[] = [];

  constructor(
    systemAssigned: SystemAssignedIdentityDefinition | undefined,
    userAssigned: readonly ManagedIdentityDefinition[],
  ) {
    if (systemAssigned) {
      validateCommonFields(systemAssigned, 'systemAssigned');
      this.#systemAssigned = Object.freeze({
        name: systemAssigned.name,
        clientId: systemAssigned.clientId,
        objectId: systemAssigned.objectId,
      });
    }
    for (const definition of userAssigned) this.addUserAssigned(definition);
  }

  get systemAssigned(): SystemAssignedIdentityDefinition | undefined {
    return this.#systemAssigned;
  }

  get userAssigned(): readonly ManagedIdentityDefinition[] {
    return [...this.#userAssigned];
  }

  addUserAssigned(definition: ManagedIdentityDefinition): ManagedIdentityDefinition {
    validateCommonFields(definition, 'userAssigned');
    const resourceId = definition.resourceId ?? userAssignedResourceId(definition.name);
    if (!userAssignedResourceIdPattern.test(resourceId)) {
      throw new TypeError(
        `userAssigned identity '${definition.name}': resourceId must look like /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>, got '${resourceId}'`,
      );
    }
    const complete = Object.freeze({
      name: definition.name,
      clientId: definition.clientId,
      objectId: definition.objectId,
      resourceId,
    });
    this.#assertUnique(complete);
    this.#userAssigned.push(complete);
    return complete;
  }

  lookup(selector: IdentitySelector, options: { defaultToSingleUserAssigned: boolean }): IdentityLookup {
    if (selector.kind === 'system') {
      if (this.#systemAssigned) return { found: true, identity: this.#systemAssigned };
      // IMDS on a VM with no system identity and exactly one user-assigned identity uses that one.
      if (options.defaultToSingleUserAssigned) {
        const [only, ...others] = this.#userAssigned;
        if (only && others.length === 0) return { found: true, identity: only };
        if (others.length > 0) return { found: false, reason: 'several-user-assigned' };
      }
      return { found: false, reason: 'no-system-identity' };
    }
    // Azure compares GUIDs and ARM ids without regard to case.
    const wanted = selector.value.toLowerCase();
    const match = this.#userAssigned.find((identity) => {
      switch (selector.kind) {
        case 'client-id':
          return identity.clientId.toLowerCase() === wanted;
        case 'object-id':
          return identity.objectId.toLowerCase() === wanted;
        case 'resource-id':
          return identity.resourceId?.toLowerCase() === wanted;
      }
      return false;
    });
    return match ? { found: true, identity: match } : { found: false, reason: 'unknown-identity' };
  }

  #assertUnique(candidate: ManagedIdentityDefinition): void {
    const existing: ManagedIdentityDefinition[] = [
      ...(this.#systemAssigned ? [this.#systemAssigned] : []),
      ...this.#userAssigned,
    ];
    for (const identity of existing) {
      for (const field of ['clientId', 'objectId', 'resourceId'] as const) {
        const value = candidate[field];
        if (value !== undefined && identity[field]?.toLowerCase() === value.toLowerCase()) {
          throw new TypeError(
            `userAssigned identity '${candidate.name}': ${field} ${value} is already used by identity '${identity.name}'`,
          );
        }
      }
    }
  }
}

function validateCommonFields(definition: SystemAssignedIdentityDefinition, optionName: string): void {
  if (typeof definition !== 'object' || definition === null) {
    throw new TypeError(`${optionName}: expected an identity definition object`);
  }
  if (typeof definition.name !== 'string' || definition.name.trim() === '') {
    throw new TypeError(`${optionName}: name must be a non-empty string`);
  }
  for (const field of ['clientId', 'objectId'] as const) {
    const value = definition[field];
    if (typeof value !== 'string' || !guidPattern.test(value)) {
      throw new TypeError(
        `${optionName} identity '${definition.name}': ${field} must be a GUID, got '${value}'`,
      );
    }
  }
}
