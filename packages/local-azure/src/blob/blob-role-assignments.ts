import { principalKey } from '../authorization/bearer-token.js';
import { type BlobDataRole, type BlobPermission, blobDataRoles, roleGrants } from './blob-roles.js';

/** One role assignment, as `az role assignment create --scope <account or container>` makes it. */
export interface BlobRoleAssignment {
  /** The caller's object id: the token's `oid`. */
  principalId: string;
  role: BlobDataRole;
  /** Scope: one container (`…/blobServices/default/containers/<name>`); default the whole account. */
  container?: string;
}

/** Where a request acts: the account (List Containers, service properties) or one container. */
export interface BlobRequestScope {
  container: string | undefined;
}

/**
 * The role assignments of one storage account. An account-scope assignment covers every container;
 * a container-scope one only requests on that container — never account-level ones such as List
 * Containers, as in Azure, where a role is inherited downwards only
 * (https://learn.microsoft.com/azure/storage/blobs/assign-azure-role-data-access#determine-resource-scope).
 */
export class BlobRoleAssignments {
  readonly #assignments: BlobRoleAssignment[] = [];

  constructor(initial: readonly BlobRoleAssignment[] = []) {
    for (const assignment of initial) this.assign(assignment);
  }

  assign(assignment: BlobRoleAssignment): void {
    const normalized = normalize(assignment, 'assignRole');
    if (!this.#assignments.some((existing) => same(existing, normalized))) this.#assignments.push(normalized);
  }

  /** Without `role`, removes every assignment of the principal (at the scope given, or all scopes). */
  remove(principalId: string, role?: BlobDataRole, options: { container?: string } = {}): void {
    const key = principalKey(principalId, 'removeRole');
    if (role !== undefined) assertRole(role, 'removeRole');
    const container =
      options.container === undefined ? undefined : containerKey(options.container, 'removeRole');
    for (let index = this.#assignments.length - 1; index >= 0; index -= 1) {
      const existing = this.#assignments[index] as BlobRoleAssignment;
      if (existing.principalId !== key) continue;
      if (role !== undefined && existing.role !== role) continue;
      if (options.container !== undefined && existing.container !== container) continue;
      if (role !== undefined && options.container === undefined && existing.container !== undefined) continue;
      this.#assignments.splice(index, 1);
    }
  }

  list(): readonly BlobRoleAssignment[] {
    return this.#assignments.map((assignment) => ({ ...assignment }));
  }

  /** Whether an assignment of the principal covering the scope holds every permission. */
  allows(principalId: string, scope: BlobRequestScope, permissions: readonly BlobPermission[]): boolean {
    const key = principalId.toLowerCase();
    const container = scope.container?.toLowerCase();
    const applicable = this.#assignments.filter(
      (assignment) =>
        assignment.principalId === key &&
        (assignment.container === undefined || assignment.container === container),
    );
    return permissions.every((permission) =>
      applicable.some((assignment) => roleGrants(assignment.role, permission)),
    );
  }
}

function normalize(assignment: BlobRoleAssignment, caller: string): BlobRoleAssignment {
  assertRole(assignment?.role, caller);
  const principalId = principalKey(assignment.principalId, caller);
  return assignment.container === undefined
    ? { principalId, role: assignment.role }
    : { principalId, role: assignment.role, container: containerKey(assignment.container, caller) };
}

function same(left: BlobRoleAssignment, right: BlobRoleAssignment): boolean {
  return (
    left.principalId === right.principalId && left.role === right.role && left.container === right.container
  );
}

// Container names are lower-case in Azure (3-63 of a-z, 0-9, -); compare them that way.
function containerKey(container: string, caller: string): string {
  if (typeof container !== 'string' || !/^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/i.test(container)) {
    throw new TypeError(
      `${caller}: container must be a container name (3-63 lower-case letters, digits and hyphens), or left out for the whole account`,
    );
  }
  return container.toLowerCase();
}

function assertRole(role: BlobDataRole, caller: string): void {
  if (!blobDataRoles.includes(role)) {
    throw new TypeError(
      `${caller}: role must be one of ${blobDataRoles.map((name) => `'${name}'`).join(', ')}`,
    );
  }
}
