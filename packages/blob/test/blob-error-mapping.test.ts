import { RestError } from '@azure/storage-blob';
import {
  AuthenticationFailedError,
  AuthorizationError,
  ClosedError,
  ConfigurationError,
  CredentialUnavailableError,
  type KeylessError,
  ServiceUnavailableError,
} from '@keyless/core';
import {
  type Canaries,
  describeErrorMappingConformance,
  type ErrorMappingRow,
  makeCanaries,
} from '@keyless/testing';
import { describe, expect, it } from 'vitest';
import { type BlobErrorContext, mapBlobError } from '../src/blob-error-mapping.js';

/**
 * Every mapping @keyless/blob does, without a server: the home of the table. The error-mapping
 * group of the connector conformance suite runs it (class, code, retryability, message and hint
 * words; no view of a mapped error shows the canary token planted in the native one); the tests
 * below check what the group does not (status, the SDK's error kept as the cause, words a hint must
 * not have). The same 401 and 403 answers, as the local stack's Blob front sends them to the real
 * SDK, are mapped in blob-roles-against-the-stack.test.ts.
 */

interface BlobRow extends ErrorMappingRow {
  /** mapBlobError's second argument; none by default (the host then comes from the request). */
  context?: BlobErrorContext;
  /** The mapped error's `status`: the HTTP status for a 401 or 403, none otherwise. */
  status?: number;
  /** Words the hint must not contain (advice for another case). */
  notInHint?: string[];
}

const echoing = (canaries: Canaries, text: string) => `${text} (the service echoed ${canaries.token})`;

const accountUrl = 'https://myaccount.blob.core.windows.net';
const onAccount = { accountUrl };
const request = { url: 'https://fromrequest.blob.core.windows.net/data/report.csv' };

/** A RestError as the Storage SDK throws it: `code` from the x-ms-error-code header, or none. */
function restError(
  canaries: Canaries,
  statusCode: number | undefined,
  code: string | undefined,
  message: string,
): RestError {
  return new RestError(echoing(canaries, message), { statusCode, code, request: request as never });
}

function networkError(canaries: Canaries, code: string): Error {
  return Object.assign(new Error(echoing(canaries, `connect ${code} 10.0.0.1:443`)), { code });
}

const dataRoles = ['Storage Blob Data Reader', 'Storage Blob Data Contributor', 'on the storage account'];
const audienceHint = [
  'https://storage.azure.com/.default',
  "storage account's tenant",
  'TokenProvider itself',
];
const unreachableHint = ['resolves and is reachable', 'KEYLESS_BLOB_ACCOUNT_URL', 'keyless-local up blob'];
const forOneContainer = "connect({ container: '<name>' })";
const permissionMismatch = 'This request is not authorized to perform this operation using this permission.';

const rows: BlobRow[] = [
  {
    name: '403 AuthorizationPermissionMismatch (no Storage Blob Data role)',
    native: (canaries) => restError(canaries, 403, 'AuthorizationPermissionMismatch', permissionMismatch),
    context: onAccount,
    status: 403,
    notInHint: ['firewall', forOneContainer],
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: [
        'Blob Storage refused the operation: 403 AuthorizationPermissionMismatch on myaccount.blob.core.windows.net',
      ],
      hint: dataRoles,
    },
  },
  {
    name: "403 AuthorizationPermissionMismatch from connect()'s List Containers (a role on one container cannot list)",
    native: (canaries) => restError(canaries, 403, 'AuthorizationPermissionMismatch', permissionMismatch),
    context: { accountUrl, listingContainers: true },
    status: 403,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['403 AuthorizationPermissionMismatch'],
      hint: [...dataRoles, forOneContainer],
    },
  },
  {
    name: '403 AuthorizationFailure (a role, but the firewall or a private endpoint says no)',
    native: (canaries) =>
      restError(
        canaries,
        403,
        'AuthorizationFailure',
        'This request is not authorized to perform this operation.',
      ),
    context: onAccount,
    status: 403,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['403 AuthorizationFailure'],
      hint: [...dataRoles, "the account's firewall and private-endpoint rules"],
    },
  },
  {
    name: '403 whose code is only in details.errorCode (older SDK paths); the host from the request',
    native: (canaries) =>
      Object.assign(restError(canaries, 403, undefined, 'This request is not authorized.'), {
        details: { errorCode: 'AuthorizationPermissionMismatch' },
      }),
    status: 403,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['403 AuthorizationPermissionMismatch on fromrequest.blob.core.windows.net'],
      hint: dataRoles,
    },
  },
  {
    name: '401 InvalidAuthenticationInfo (Azure refused the token)',
    native: (canaries) =>
      restError(canaries, 401, 'InvalidAuthenticationInfo', 'Server failed to authenticate the request.'),
    context: onAccount,
    status: 401,
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: [
        'Blob Storage rejected the token: 401 InvalidAuthenticationInfo on myaccount.blob.core.windows.net',
      ],
      hint: audienceHint,
    },
  },
  {
    name: '403 AuthenticationFailed (what Azurite answers for a token it refuses)',
    native: (canaries) =>
      restError(canaries, 403, 'AuthenticationFailed', 'Server failed to authenticate the request.'),
    context: onAccount,
    status: 403,
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: ['rejected the token: 403 AuthenticationFailed'],
      hint: audienceHint,
    },
  },
  {
    // The SDK hides `request` (not enumerable; its inspect sanitizes the headers): the mapped error
    // keeps the RestError as its cause, and must keep it hidden in every view of that chain too.
    name: '403 AuthenticationFailed whose request still carries the Authorization header the SDK set',
    native: (canaries) =>
      new RestError('Server failed to authenticate the request.', {
        statusCode: 403,
        code: 'AuthenticationFailed',
        request: { ...request, headers: { authorization: `Bearer ${canaries.token}` } } as never,
      }),
    context: onAccount,
    status: 403,
    expected: { class: AuthenticationFailedError, retryable: false, hint: audienceHint },
  },
  {
    name: '401 without an error code',
    native: (canaries) => restError(canaries, 401, undefined, 'Unauthorized'),
    context: onAccount,
    status: 401,
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: ['rejected the token: 401 on myaccount.blob.core.windows.net'],
      hint: audienceHint,
    },
  },
  {
    name: "certificate from an untrusted CA (the SDK keeps Node's code on its RestError)",
    native: (canaries) =>
      restError(
        canaries,
        undefined,
        'SELF_SIGNED_CERT_IN_CHAIN',
        'self-signed certificate in certificate chain',
      ),
    context: onAccount,
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: [
        "Blob Storage at myaccount.blob.core.windows.net: the server's TLS certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN)",
      ],
      hint: ['NODE_EXTRA_CA_CERTS', 'clientOptions.tlsOptions.ca', 'verification is never turned off'],
    },
  },
  {
    name: 'certificate for another name, as the cause of another error',
    native: (canaries) =>
      new Error(echoing(canaries, 'request failed'), {
        cause: Object.assign(
          new Error(echoing(canaries, "Hostname/IP does not match certificate's altnames")),
          {
            code: 'ERR_TLS_CERT_ALTNAME_INVALID',
          },
        ),
      }),
    context: onAccount,
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: ['not trusted (ERR_TLS_CERT_ALTNAME_INVALID)'],
      hint: ['the name it was issued for'],
    },
  },
  ...['REQUEST_SEND_ERROR', 'ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET'].map(
    (code): BlobRow => ({
      name: `${code} on a RestError without a status (the request never got an answer)`,
      native: (canaries) =>
        restError(canaries, undefined, code, `getaddrinfo ${code} myaccount.blob.core.windows.net`),
      context: onAccount,
      expected: {
        class: ServiceUnavailableError,
        retryable: true,
        message: ['Blob Storage at myaccount.blob.core.windows.net could not be reached'],
        hint: ['myaccount.blob.core.windows.net', ...unreachableHint],
      },
    }),
  ),
  ...['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].map(
    (code): BlobRow => ({
      name: `${code} from Node itself, without an account URL`,
      native: (canaries) => networkError(canaries, code),
      expected: {
        class: ServiceUnavailableError,
        retryable: true,
        message: ['Blob Storage at the storage account could not be reached'],
        hint: unreachableHint,
      },
    }),
  ),
  // The application's business, handed back unchanged.
  ...(
    [
      ['404 BlobNotFound', 404, 'BlobNotFound', 'The specified blob does not exist.'],
      [
        '409 ContainerAlreadyExists',
        409,
        'ContainerAlreadyExists',
        'The specified container already exists.',
      ],
      [
        '403 with another code (BlobOperationNotSupported)',
        403,
        'BlobOperationNotSupported',
        'Not supported.',
      ],
      [
        '412 ConditionNotMet',
        412,
        'ConditionNotMet',
        'The condition specified using HTTP conditional header(s) is not met.',
      ],
      [
        '500 InternalError (the SDK has already retried it)',
        500,
        'InternalError',
        'Server encountered an internal error.',
      ],
      ['a RestError with a status and a network-looking code', 503, 'ECONNRESET', 'Service unavailable'],
    ] as const
  ).map(
    ([name, statusCode, code, message]): BlobRow => ({
      name,
      native: (canaries) => restError(canaries, statusCode, code, message),
      context: onAccount,
      expected: 'unchanged',
    }),
  ),
  {
    name: "an error that is not the SDK's",
    native: (canaries) => new TypeError(echoing(canaries, 'blob.upload is not a function')),
    context: onAccount,
    expected: 'unchanged',
  },
];

/**
 * Each native error's context, beside the error rather than in it, so that what the group maps is
 * the error as the SDK makes it.
 */
const contexts = new WeakMap<object, BlobErrorContext>();

describeErrorMappingConformance({
  name: '@keyless/blob',
  map: (native) => mapBlobError(native, contexts.get(native as object)),
  rows: rows.map((row) => ({
    ...row,
    native: (canaries: Canaries) => {
      const native = row.native(canaries);
      if (row.context) contexts.set(native as object, row.context);
      return native;
    },
  })),
});

describe('Blob Storage error mapping, what the group does not check', () => {
  const mappedRows = rows.filter((row) => row.expected !== 'unchanged');

  it.each(mappedRows)('$name: status, the cause kept, no advice for another case', (row) => {
    const native = row.native(makeCanaries());
    const mapped = mapBlobError(native, row.context) as KeylessError;
    expect(mapped.status).toBe(row.status);
    // The SDK's error stays reachable as the cause, for logs that want the request id.
    expect(mapped.cause).toBeDefined();
    for (const word of row.notInHint ?? []) expect(mapped.hint ?? '').not.toContain(word);
  });

  it.each([
    ['directly', (inner: Error) => inner],
    [
      'as the cause the pipeline wrapped it in',
      (inner: Error) => new Error('pipeline failed', { cause: inner }),
    ],
    ['inside an AggregateError', (inner: Error) => new AggregateError([new Error('other'), inner])],
  ])("a keyless error (the token provider's, the guard's), %s, is handed over unchanged", (_where, wrap) => {
    for (const ours of [
      new CredentialUnavailableError('No managed identity endpoint found'),
      new ConfigurationError('NODE_TLS_REJECT_UNAUTHORIZED=0 with a destination that is not this machine'),
      new ClosedError('TokenProvider'),
    ]) {
      expect(mapBlobError(wrap(ours), onAccount) === ours).toBe(true);
    }
  });
});

describe('the role a 403 hint names, from the refused request', () => {
  const refused = (method: string, url: string) =>
    mapBlobError(
      new RestError(permissionMismatch, {
        statusCode: 403,
        code: 'AuthorizationPermissionMismatch',
        request: { url, method } as never,
      }),
    ) as KeylessError;

  it.each([
    ['GET', `${accountUrl}/data/report.csv`, '*Storage Blob Data Reader*', 'writing and deleting'],
    ['HEAD', `${accountUrl}/data/report.csv`, '*Storage Blob Data Reader*', 'Owner'],
    ['PUT', `${accountUrl}/data/report.csv`, '*Storage Blob Data Contributor*', 'Owner'],
    ['DELETE', `${accountUrl}/data?restype=container`, '*Storage Blob Data Contributor*', 'Owner'],
    ['PUT', `${accountUrl}/data/report.csv?comp=tags`, '*Storage Blob Data Owner*', 'only reads'],
    ['PUT', `${accountUrl}/data?restype=container&comp=acl`, '*Storage Blob Data Owner*', 'only reads'],
  ])('%s %s: names %s', (method, url, role, notInHint) => {
    const mapped = refused(method, url);
    expect(mapped).toBeInstanceOf(AuthorizationError);
    expect(mapped.hint).toContain(role);
    expect(mapped.hint).not.toContain(notInHint);
  });
});
