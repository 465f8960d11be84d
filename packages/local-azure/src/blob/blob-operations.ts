import { type BlobPermission, blobPermissions as can } from './blob-roles.js';

/** What a request does, as far as authorization is concerned. */
export interface BlobOperation {
  /** The REST operation's name, for tests and counters (e.g. `Put Blob`). */
  name: string;
  /** The container it acts on; undefined for account-level operations. */
  container: string | undefined;
  /** Every permission it needs. */
  permissions: readonly BlobPermission[];
}

/**
 * Maps a Blob REST request (path-style: `/<account>[/<container>[/<blob>]]`) to its operation and
 * the permissions it needs, as each operation's REST reference names them under "Authorization"
 * (https://learn.microsoft.com/rest/api/storageservices/blob-service-rest-api). An operation this
 * table does not know needs `blobs/read` for GET and HEAD, `blobs/write` otherwise, so nothing
 * unknown passes without a role.
 */
export function classifyBlobRequest(method: string, path: string, query: URLSearchParams): BlobOperation {
  const segments = path.split('/').filter((segment) => segment !== '');
  // segments[0] is the account: Azurite (and so the front) is addressed path-style.
  const container = segments[1] === undefined ? undefined : safeDecode(segments[1]);
  const isBlob = segments.length > 2;
  const restype = query.get('restype')?.toLowerCase();
  const comp = query.get('comp')?.toLowerCase();
  const verb = method.toUpperCase();
  const reading = verb === 'GET' || verb === 'HEAD';
  const operation = (name: string, ...permissions: BlobPermission[]): BlobOperation => ({
    name,
    container,
    permissions,
  });

  if (container === undefined) {
    if (restype === 'service' && comp === 'properties') {
      return reading
        ? operation('Get Blob Service Properties', can.readServiceProperties)
        : operation('Set Blob Service Properties', can.writeServiceProperties);
    }
    if (restype === 'service' && comp === 'stats')
      return operation('Get Blob Service Stats', can.readServiceProperties);
    if (restype === 'service' && comp === 'userdelegationkey')
      return operation('Get User Delegation Key', can.userDelegationKey);
    if (restype === 'account' && comp === 'properties')
      return operation('Get Account Information', can.readBlob);
    if (comp === 'list') return operation('List Containers', can.listContainers);
    if (comp === 'blobs') return operation('Find Blobs by Tags', can.findByTags);
    if (comp === 'batch') return operation('Blob Batch', can.writeBlob, can.deleteBlob);
    return fallback(operation, reading);
  }

  if (!isBlob) {
    if (restype === 'account' && comp === 'properties')
      return operation('Get Account Information', can.readBlob);
    if (restype !== 'container') return fallback(operation, reading);
    switch (comp) {
      case undefined:
        if (verb === 'PUT') return operation('Create Container', can.writeContainer);
        if (verb === 'DELETE') return operation('Delete Container', can.deleteContainer);
        return reading
          ? operation('Get Container Properties', can.readContainer)
          : fallback(operation, reading);
      case 'metadata':
        return reading
          ? operation('Get Container Metadata', can.readContainer)
          : operation('Set Container Metadata', can.writeContainer);
      case 'acl':
        return reading
          ? operation('Get Container ACL', can.readContainerAcl)
          : operation('Set Container ACL', can.writeContainerAcl);
      // keyless's choice: a lease guards deletion, so it needs what writing the container needs.
      case 'lease':
        return operation('Lease Container', can.writeContainer);
      case 'list':
        return operation('List Blobs', can.readBlob);
      case 'blobs':
        return operation('Find Blobs by Tags in Container', can.findByTags);
      case 'batch':
        return operation('Blob Batch', can.writeBlob, can.deleteBlob);
      case 'undelete':
      case 'rename':
        return operation('Restore Container', can.writeContainer);
      default:
        return fallback(operation, reading);
    }
  }

  if (comp === 'tags') {
    return reading ? operation('Get Blob Tags', can.readTags) : operation('Set Blob Tags', can.writeTags);
  }
  if (reading) return operation(readBlobOperationName(comp), can.readBlob);
  if (verb === 'DELETE') {
    return query.has('versionid')
      ? operation('Delete Blob (version)', can.deleteBlobVersion)
      : operation('Delete Blob', can.deleteBlob);
  }
  if (comp === 'appendblock') return operation('Append Block', can.appendToBlob);
  if (verb === 'PUT') return operation(writeBlobOperationName(comp), can.writeBlob);
  return fallback(operation, reading);
}

function readBlobOperationName(comp: string | undefined): string {
  if (comp === 'metadata') return 'Get Blob Metadata';
  if (comp === 'blocklist') return 'Get Block List';
  if (comp === 'pagelist') return 'Get Page Ranges';
  return 'Get Blob';
}

function writeBlobOperationName(comp: string | undefined): string {
  if (comp === undefined) return 'Put Blob';
  if (comp === 'block') return 'Put Block';
  if (comp === 'blocklist') return 'Put Block List';
  return `Blob ${comp}`;
}

function fallback(
  operation: (name: string, ...permissions: BlobPermission[]) => BlobOperation,
  reading: boolean,
) {
  return reading
    ? operation('unclassified read', can.readBlob)
    : operation('unclassified write', can.writeBlob);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
