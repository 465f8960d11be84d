import {
  AuthenticationFailedError,
  AuthorizationError,
  findKeylessError,
  ServiceUnavailableError,
} from '@keyless/core';
import { isNetworkFailure, isNetworkFailureCode, untrustedCertificateError } from '@keyless/core/internal';
import { caOption } from './blob-options.js';
import { blobService } from './blob-transport-guard.js';

export interface BlobErrorContext {
  /** Named in the hint of an `unavailable` error; taken from the failed request when omitted. */
  accountUrl?: string;
  /** The request was connect()'s List Containers, which a role on one container does not allow. */
  listingContainers?: boolean;
}

const authorizationCodes = new Set(['AuthorizationPermissionMismatch', 'AuthorizationFailure']);
const authenticationCodes = new Set(['AuthenticationFailed', 'InvalidAuthenticationInfo']);

export const storageAudience = 'https://storage.azure.com/.default';

/**
 * Turns what the Storage SDK throws into keyless errors where the cause is ours to explain
 * (identity, role, reachability), and returns anything else unchanged: a 404 or a 409 is the
 * application's business, not a keyless failure.
 */
export function mapBlobError(error: unknown, context: BlobErrorContext = {}): unknown {
  // The provider's own error may arrive wrapped by the pipeline; it is handed over as it was thrown.
  const fromProvider = findKeylessError(error);
  if (fromProvider) return fromProvider;
  // Node refused the server's certificate: the same certificate will be refused again, so this is
  // configuration (trust the CA, or use the right name), not an outage to retry.
  const certificate = untrustedCertificateError(error, {
    service: blobService,
    target: hostOf(error, context),
    caOption,
  });
  if (certificate) return certificate;
  if (isRestError(error)) {
    const serviceCode = storageErrorCode(error);
    const status = typeof error.statusCode === 'number' ? error.statusCode : undefined;
    if (status === 403 && serviceCode !== undefined && authorizationCodes.has(serviceCode)) {
      return new AuthorizationError(
        `Blob Storage refused the operation: 403 ${serviceCode} on ${hostOf(error, context)}`,
        {
          cause: error,
          status,
          hint:
            roleHint(error) +
            (serviceCode === 'AuthorizationFailure'
              ? "; if it already has the role, check the account's firewall and private-endpoint rules"
              : '') +
            (context.listingContainers
              ? "; connect() lists the account's containers, which needs the role on the account: for a role on one container, call connect({ container: '<name>' })"
              : ''),
        },
      );
    }
    if (
      status === 401 ||
      (status === 403 && serviceCode !== undefined && authenticationCodes.has(serviceCode))
    ) {
      return new AuthenticationFailedError(
        `Blob Storage rejected the token: ${status} ${serviceCode ?? ''}`.trimEnd() +
          ` on ${hostOf(error, context)}`,
        {
          cause: error,
          status,
          hint: `the token must be for the audience ${storageAudience}, from the storage account's tenant, and not expired; pass the keyless TokenProvider itself as the credential rather than a token for another resource`,
        },
      );
    }
    if (status === undefined && typeof error.code === 'string' && isNetworkFailureCode(error.code)) {
      return unavailable(error, context);
    }
    return error;
  }
  if (isNetworkFailure(error)) return unavailable(error, context);
  return error;
}

function unavailable(error: unknown, context: BlobErrorContext): ServiceUnavailableError {
  const host = hostOf(error, context);
  return new ServiceUnavailableError(`Blob Storage at ${host} could not be reached`, {
    cause: error,
    hint: `check that ${host} resolves and is reachable from here (DNS, firewall, private endpoint) and that \`accountUrl\` / KEYLESS_BLOB_ACCOUNT_URL is right; locally, start it with \`keyless-local up blob\``,
  });
}

/**
 * The role to assign for the refused request, from its method and URL, as Azure's built-in roles
 * split the data actions (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage):
 * Reader reads and lists, Contributor also writes and deletes blobs and containers, and only Owner
 * holds blob index tags and container ACLs. Without the request, both common roles are named.
 */
function roleHint(error: RestErrorShape): string {
  const method = typeof error.request?.method === 'string' ? error.request.method.toUpperCase() : undefined;
  const query = queryOf(error.request?.url);
  const scope = 'on the storage account (or the container)';
  if (query?.get('comp') === 'tags' || query?.get('comp') === 'acl') {
    return `assign the identity *Storage Blob Data Owner* ${scope}: blob index tags and container ACLs need it (Contributor does not hold them)`;
  }
  if (method === 'GET' || method === 'HEAD') {
    return `assign the identity *Storage Blob Data Reader* ${scope} to read and list (*Storage Blob Data Contributor* to write as well)`;
  }
  if (method !== undefined) {
    return `assign the identity *Storage Blob Data Contributor* ${scope}: writing and deleting need it (*Storage Blob Data Reader* only reads)`;
  }
  return 'assign the identity *Storage Blob Data Reader* (read) or *Storage Blob Data Contributor* (write) on the storage account';
}

function queryOf(url: unknown): URLSearchParams | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).searchParams;
  } catch {
    return undefined;
  }
}

/** What the Storage SDK's RestError looks like (the parts we read). */
interface RestErrorShape extends Error {
  name: 'RestError';
  code?: unknown;
  statusCode?: unknown;
  details?: unknown;
  request?: { url?: unknown; method?: unknown };
}

/**
 * Recognised by shape, not with the SDK's `isRestError`: @azure/storage-blob exports that only from
 * 12.34, and importing it made this package fail at import with every older 12.x. RestError has
 * been named `RestError` since the first 12.x (from @azure/core-http, later @azure/core-rest-pipeline).
 */
function isRestError(error: unknown): error is RestErrorShape {
  return error instanceof Error && error.name === 'RestError';
}

/** The SDK sets `code` from the x-ms-error-code header; older paths only fill `details.errorCode`. */
function storageErrorCode(error: RestErrorShape): string | undefined {
  const details = error.details as { errorCode?: unknown } | undefined;
  if (typeof details?.errorCode === 'string') return details.errorCode;
  return typeof error.code === 'string' ? error.code : undefined;
}

function hostOf(error: unknown, context: BlobErrorContext): string {
  const url = context.accountUrl ?? (isRestError(error) ? error.request?.url : undefined);
  if (typeof url !== 'string') return 'the storage account';
  try {
    return new URL(url).host;
  } catch {
    return 'the storage account';
  }
}
