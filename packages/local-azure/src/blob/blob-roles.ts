/**
 * The built-in Azure roles that grant Blob data access, and the permissions each holds, as Azure
 * defines them (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage):
 *
 * - Storage Blob Data Reader: actions `containers/read`, `generateUserDelegationKey/action`;
 *   data actions `containers/blobs/read`.
 * - Storage Blob Data Contributor: actions `containers/read|write|delete`,
 *   `generateUserDelegationKey/action`; data actions `containers/blobs/read|write|delete`,
 *   `blobs/move/action`, `blobs/add/action`.
 * - Storage Blob Data Owner: actions `containers/*`, `generateUserDelegationKey/action`; data
 *   actions `containers/blobs/*` (so also tags, ACLs and ownership).
 */
export type BlobDataRole =
  | 'Storage Blob Data Reader'
  | 'Storage Blob Data Contributor'
  | 'Storage Blob Data Owner';

export const blobDataRoles: readonly BlobDataRole[] = [
  'Storage Blob Data Reader',
  'Storage Blob Data Contributor',
  'Storage Blob Data Owner',
];

const blobService = 'Microsoft.Storage/storageAccounts/blobServices';

/** A permission an operation needs: an action (control-plane style) or a data action, as Azure splits them. */
export interface BlobPermission {
  kind: 'action' | 'dataAction';
  /** Azure's name, e.g. `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read`. */
  name: string;
}

export const blobPermissions = {
  listContainers: { kind: 'action', name: `${blobService}/containers/read` },
  readContainer: { kind: 'action', name: `${blobService}/containers/read` },
  writeContainer: { kind: 'action', name: `${blobService}/containers/write` },
  deleteContainer: { kind: 'action', name: `${blobService}/containers/delete` },
  readContainerAcl: { kind: 'action', name: `${blobService}/containers/getAcl/action` },
  writeContainerAcl: { kind: 'action', name: `${blobService}/containers/setAcl/action` },
  userDelegationKey: { kind: 'action', name: `${blobService}/generateUserDelegationKey/action` },
  readServiceProperties: { kind: 'action', name: `${blobService}/read` },
  writeServiceProperties: { kind: 'action', name: `${blobService}/write` },
  readBlob: { kind: 'dataAction', name: `${blobService}/containers/blobs/read` },
  writeBlob: { kind: 'dataAction', name: `${blobService}/containers/blobs/write` },
  deleteBlob: { kind: 'dataAction', name: `${blobService}/containers/blobs/delete` },
  appendToBlob: { kind: 'dataAction', name: `${blobService}/containers/blobs/add/action` },
  deleteBlobVersion: { kind: 'dataAction', name: `${blobService}/containers/blobs/deleteBlobVersion/action` },
  readTags: { kind: 'dataAction', name: `${blobService}/containers/blobs/tags/read` },
  writeTags: { kind: 'dataAction', name: `${blobService}/containers/blobs/tags/write` },
  findByTags: { kind: 'dataAction', name: `${blobService}/containers/blobs/filter/action` },
} as const satisfies Record<string, BlobPermission>;

interface RoleDefinition {
  actions: readonly string[];
  dataActions: readonly string[];
}

// Azure's own lists; a trailing `/*` grants everything under that prefix.
const roleDefinitions: Record<BlobDataRole, RoleDefinition> = {
  'Storage Blob Data Reader': {
    actions: [`${blobService}/containers/read`, `${blobService}/generateUserDelegationKey/action`],
    dataActions: [`${blobService}/containers/blobs/read`],
  },
  'Storage Blob Data Contributor': {
    actions: [
      `${blobService}/containers/delete`,
      `${blobService}/containers/read`,
      `${blobService}/containers/write`,
      `${blobService}/generateUserDelegationKey/action`,
    ],
    dataActions: [
      `${blobService}/containers/blobs/delete`,
      `${blobService}/containers/blobs/read`,
      `${blobService}/containers/blobs/write`,
      `${blobService}/containers/blobs/move/action`,
      `${blobService}/containers/blobs/add/action`,
    ],
  },
  'Storage Blob Data Owner': {
    actions: [`${blobService}/containers/*`, `${blobService}/generateUserDelegationKey/action`],
    dataActions: [`${blobService}/containers/blobs/*`],
  },
};

/** Whether the role's definition holds the permission (Azure's `*` suffix matching). */
export function roleGrants(role: BlobDataRole, permission: BlobPermission): boolean {
  const definition = roleDefinitions[role];
  const granted = permission.kind === 'action' ? definition.actions : definition.dataActions;
  return granted.some((pattern) =>
    pattern.endsWith('/*') ? permission.name.startsWith(pattern.slice(0, -1)) : pattern === permission.name,
  );
}

/** The least-privileged built-in role that holds the permission, for hints. */
export function leastRoleFor(permission: BlobPermission): BlobDataRole | undefined {
  return blobDataRoles.find((role) => roleGrants(role, permission));
}
