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
import { renderEveryWay } from '@keyless/testing';
import { describe, expect, it } from 'vitest';
import { type BlobErrorContext, mapBlobError } from '../src/blob-error-mapping.js';

/**
 * Every mapping @keyless/blob does, without a server: what the Storage SDK throws becomes the typed
 * error with the right class, code, retryability, status and hint, or is handed back unchanged when
 * it is the application's business. A JWT-shaped string is planted in every native message; no
 * view of a mapped error may show it. Azurite does not emulate role assignments, so the 403s Azure
 * sends to an identity without a Storage Blob Data role are only ever seen here.
 */

/** JWT-shaped, so that redaction and the leak scan both recognise it; never printed. */
const token = [
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9',
  'eyJhdWQiOiJodHRwczovL3N0b3JhZ2UuYXp1cmUuY29tIn0',
  'c2lnbmF0dXJlLW9mLWEtdGVzdC10b2tlbg',
].join('.');
const echoing = (text: string) => `${text} (the service echoed ${token})`;

const accountUrl = 'https://myaccount.blob.core.windows.net';
const request = { url: 'https://fromrequest.blob.core.windows.net/data/report.csv' };

/** A RestError as the Storage SDK throws it: `code` from the x-ms-error-code header, or none. */
function restError(statusCode: number | undefined, code: string | undefined, message: string): RestError {
  return new RestError(echoing(message), { statusCode, code, request: request as never });
}

function networkError(code: string): Error {
  return Object.assign(new Error(echoing(`connect ${code} 10.0.0.1:443`)), { code });
}

type ErrorClass = abstract new (...parameters: never[]) => KeylessError;

interface Expected {
  type: ErrorClass;
  code: KeylessError['code'];
  retryable: boolean;
  status?: number;
  /** Words the message must contain. */
  message: string[];
  /** Words the hint must contain. */
  hint: string[];
  /** Words the hint must not contain. */
  notInHint?: string[];
}

interface Row {
  name: string;
  error: () => unknown;
  context?: BlobErrorContext;
  expected: Expected;
}

const dataRoles = ['Storage Blob Data Reader', 'Storage Blob Data Contributor', 'on the storage account'];
const audienceHint = [
  'https://storage.azure.com/.default',
  "storage account's tenant",
  'TokenProvider itself',
];
const unreachableHint = ['resolves and is reachable', 'KEYLESS_BLOB_ACCOUNT_URL', 'keyless-local up blob'];
const forOneContainer = "connect({ container: '<name>' })";

const rows: Row[] = [
  {
    name: '403 AuthorizationPermissionMismatch (no Storage Blob Data role)',
    error: () =>
      restError(
        403,
        'AuthorizationPermissionMismatch',
        'This request is not authorized to perform this operation using this permission.',
      ),
    context: { accountUrl },
    expected: {
      type: AuthorizationError,
      code: 'authorization',
      retryable: false,
      status: 403,
      message: [
        'Blob Storage refused the operation: 403 AuthorizationPermissionMismatch on myaccount.blob.core.windows.net',
      ],
      hint: dataRoles,
      notInHint: ['firewall', forOneContainer],
    },
  },
  {
    name: "403 AuthorizationPermissionMismatch from connect()'s List Containers (a role on one container cannot list)",
    error: () =>
      restError(
        403,
        'AuthorizationPermissionMismatch',
        'This request is not authorized to perform this operation using this permission.',
      ),
    context: { accountUrl, listingContainers: true },
    expected: {
      type: AuthorizationError,
      code: 'authorization',
      retryable: false,
      status: 403,
      message: ['403 AuthorizationPermissionMismatch'],
      hint: [...dataRoles, forOneContainer],
    },
  },
  {
    name: '403 AuthorizationFailure (a role, but the firewall or a private endpoint says no)',
    error: () =>
      restError(403, 'AuthorizationFailure', 'This request is not authorized to perform this operation.'),
    context: { accountUrl },
    expected: {
      type: AuthorizationError,
      code: 'authorization',
      retryable: false,
      status: 403,
      message: ['403 AuthorizationFailure'],
      hint: [...dataRoles, "the account's firewall and private-endpoint rules"],
    },
  },
  {
    name: '403 whose code is only in details.errorCode (older SDK paths); the host from the request',
    error: () =>
      Object.assign(restError(403, undefined, 'This request is not authorized.'), {
        details: { errorCode: 'AuthorizationPermissionMismatch' },
      }),
    expected: {
      type: AuthorizationError,
      code: 'authorization',
      retryable: false,
      status: 403,
      message: ['403 AuthorizationPermissionMismatch on fromrequest.blob.core.windows.net'],
      hint: dataRoles,
    },
  },
  {
    name: '401 InvalidAuthenticationInfo (Azure refused the token)',
    error: () => restError(401, 'InvalidAuthenticationInfo', 'Server failed to authenticate the request.'),
    context: { accountUrl },
    expected: {
      type: AuthenticationFailedError,
      code: 'authentication-failed',
      retryable: false,
      status: 401,
      message: [
        'Blob Storage rejected the token: 401 InvalidAuthenticationInfo on myaccount.blob.core.windows.net',
      ],
      hint: audienceHint,
    },
  },
  {
    name: '403 AuthenticationFailed (what Azurite answers for a token it refuses)',
    error: () => restError(403, 'AuthenticationFailed', 'Server failed to authenticate the request.'),
    context: { accountUrl },
    expected: {
      type: AuthenticationFailedError,
      code: 'authentication-failed',
      retryable: false,
      status: 403,
      message: ['rejected the token: 403 AuthenticationFailed'],
      hint: audienceHint,
    },
  },
  {
    name: '401 without an error code',
    error: () => restError(401, undefined, 'Unauthorized'),
    context: { accountUrl },
    expected: {
      type: AuthenticationFailedError,
      code: 'authentication-failed',
      retryable: false,
      status: 401,
      message: ['rejected the token: 401 on myaccount.blob.core.windows.net'],
      hint: audienceHint,
    },
  },
  {
    name: "certificate from an untrusted CA (the SDK keeps Node's code on its RestError)",
    error: () =>
      restError(undefined, 'SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'),
    context: { accountUrl },
    expected: {
      type: ConfigurationError,
      code: 'configuration',
      retryable: false,
      message: [
        "Blob Storage at myaccount.blob.core.windows.net: the server's TLS certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN)",
      ],
      hint: ['NODE_EXTRA_CA_CERTS', 'clientOptions.tlsOptions.ca', 'verification is never turned off'],
    },
  },
  {
    name: 'certificate for another name, as the cause of another error',
    error: () =>
      new Error(echoing('request failed'), {
        cause: Object.assign(new Error(echoing("Hostname/IP does not match certificate's altnames")), {
          code: 'ERR_TLS_CERT_ALTNAME_INVALID',
        }),
      }),
    context: { accountUrl },
    expected: {
      type: ConfigurationError,
      code: 'configuration',
      retryable: false,
      message: ['not trusted (ERR_TLS_CERT_ALTNAME_INVALID)'],
      hint: ['the name it was issued for'],
    },
  },
  ...['REQUEST_SEND_ERROR', 'ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET'].map(
    (code): Row => ({
      name: `${code} on a RestError without a status (the request never got an answer)`,
      error: () => restError(undefined, code, `getaddrinfo ${code} myaccount.blob.core.windows.net`),
      context: { accountUrl },
      expected: {
        type: ServiceUnavailableError,
        code: 'unavailable',
        retryable: true,
        message: ['Blob Storage at myaccount.blob.core.windows.net could not be reached'],
        hint: ['myaccount.blob.core.windows.net', ...unreachableHint],
      },
    }),
  ),
  ...['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].map(
    (code): Row => ({
      name: `${code} from Node itself; the host from the request when no account URL is given`,
      error: () => networkError(code),
      expected: {
        type: ServiceUnavailableError,
        code: 'unavailable',
        retryable: true,
        message: ['Blob Storage at the storage account could not be reached'],
        hint: unreachableHint,
      },
    }),
  ),
];

/** Any JWT, not only the planted one. */
const jwtShaped = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/;

/**
 * A boolean, so a failing assertion cannot print the token. (Not @keyless/testing's leaksIn: its
 * UTF-16 view of an unaligned, odd-length slice hits a Node 24.21 heap overflow, nodejs/node#64697.)
 */
function expectNoTokenInAnyView(error: unknown) {
  const printed = renderEveryWay(error).join('\n');
  expect(printed.includes(token) || jwtShaped.test(printed)).toBe(false);
}

describe('Blob Storage error mapping, without a server', () => {
  it.each(rows)('$name', ({ error, context, expected }) => {
    const native = error();
    const mapped = mapBlobError(native, context);
    expect(mapped).toBeInstanceOf(expected.type);
    const keyless = mapped as KeylessError;
    expect(keyless.code).toBe(expected.code);
    expect(keyless.retryable).toBe(expected.retryable);
    expect(keyless.status).toBe(expected.status);
    for (const word of expected.message) expect(keyless.message).toContain(word);
    for (const word of expected.hint) expect(keyless.hint ?? '').toContain(word);
    for (const word of expected.notInHint ?? []) expect(keyless.hint ?? '').not.toContain(word);
    // The SDK's error stays reachable as the cause, for logs that want the request id.
    expect(keyless.cause).toBeDefined();
    expectNoTokenInAnyView(keyless);
  });

  it.each([
    ['404 BlobNotFound', () => restError(404, 'BlobNotFound', 'The specified blob does not exist.')],
    [
      '409 ContainerAlreadyExists',
      () => restError(409, 'ContainerAlreadyExists', 'The specified container already exists.'),
    ],
    [
      '403 with another code (BlobOperationNotSupported)',
      () => restError(403, 'BlobOperationNotSupported', 'Blob operation not supported.'),
    ],
    [
      '412 ConditionNotMet',
      () =>
        restError(
          412,
          'ConditionNotMet',
          'The condition specified using HTTP conditional header(s) is not met.',
        ),
    ],
    [
      '500 InternalError (the SDK has already retried it)',
      () => restError(500, 'InternalError', 'Server encountered an internal error.'),
    ],
    [
      'a RestError with a status and a network-looking code',
      () => restError(503, 'ECONNRESET', 'Service unavailable'),
    ],
    ["an error that is not the SDK's", () => new TypeError(echoing('blob.upload is not a function'))],
  ])("%s: the application's business, handed back unchanged", (_name, error) => {
    const native = error();
    expect(mapBlobError(native, { accountUrl }) === native).toBe(true);
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
      expect(mapBlobError(wrap(ours), { accountUrl }) === ours).toBe(true);
    }
  });
});
