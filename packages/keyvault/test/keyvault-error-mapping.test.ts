import { RestError } from '@azure/keyvault-secrets';
import {
  AuthenticationFailedError,
  AuthorizationError,
  ConfigurationError,
  CredentialUnavailableError,
  KeylessError,
  ServiceUnavailableError,
  ThrottledError,
  type TokenProvider,
} from '@keyless/core';
import { isUntrustedCertificateError } from '@keyless/core/internal';
import {
  type Canaries,
  describeErrorMappingConformance,
  type ErrorMappingRow,
  type ExpectedMappedError,
  makeCanaries,
} from '@keyless/testing';
import { describe, expect, it } from 'vitest';
import { mapKeyVaultError, type SecretRequestContext } from '../src/key-vault-error-mapping.js';
import { createKeyVaultConnectorWithInternals } from '../src/testing.js';

/**
 * Every mapping @keyless/keyvault does, without a vault: the home of the table. The error-mapping
 * group of the connector conformance suite runs it (class, code, retryability, message and hint
 * words; no view of a mapped error shows the canary token planted in the native one); the tests
 * below check what the group does not (status, Retry-After, the SDK's error kept as the cause,
 * core's one certificate error). The local emulator answers 401, 403, 404 and 429 for real in
 * test/secret-source.test.ts; firewalls, disabled secrets and the other 5xx are only seen here.
 */

const now = Date.parse('2025-01-01T00:00:00Z');
const vaultUrl = 'https://keyless.vault.azure.net';
const context: SecretRequestContext = { vaultUrl, name: 'postgres-password', now };

/** Where a driver or SDK would echo what it sent: the group checks that no view of the mapped error shows it. */
const echoing = (canaries: Canaries, text: string) => `${text} (the request carried ${canaries.token})`;

interface RestErrorParts {
  code?: string;
  innerCode?: string;
  retryAfter?: string;
  /** The error body's message, which the SDK makes the RestError's message. */
  message?: string;
}

/**
 * What `SecretClient.getSecret` throws for an error answer: the SDK's RestError, with the request it
 * sent (its Authorization header holds the token), the error body's codes in `details`, and the
 * answer's headers.
 */
function restError(canaries: Canaries, statusCode: number, parts: RestErrorParts = {}): RestError {
  const error = new RestError(echoing(canaries, parts.message ?? `Service answered ${statusCode}`), {
    statusCode,
    code: parts.code,
    request: {
      url: `${vaultUrl}/secrets/postgres-password?api-version=7.5`,
      method: 'GET',
      headers: { authorization: `Bearer ${canaries.token}` },
    } as never,
    response: {
      status: statusCode,
      headers: { get: (header: string) => (header === 'retry-after' ? parts.retryAfter : undefined) },
    } as never,
  });
  if (parts.innerCode) {
    error.details = { error: { code: parts.code, innererror: { code: parts.innerCode } } };
  }
  return error;
}

/** A failure before any answer, as the SDK's pipeline reports it: a RestError with the network's code. */
function sendError(canaries: Canaries, code: string): RestError {
  return new RestError(echoing(canaries, `connect ${code} 10.0.0.4:443`), { code });
}

function nodeError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

interface KeyVaultRow extends ErrorMappingRow {
  context?: Partial<SecretRequestContext>;
  expected: ExpectedMappedError;
  /** The mapped error's `status`: the HTTP status of the answer, none without one. */
  status?: number;
  retryAfterMs?: number;
}

/** The identity's object id, as an access-policy vault names the caller. */
const callerObjectId = '2c4e6a8b-0f1e-4d3c-9b8a-7a6f5e4d3c2b';

/**
 * An access-policy vault's refusal, worded as Microsoft's troubleshooting guide quotes it
 * (https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/extensions/istio-add-on-plug-in-ca-certificate).
 */
const accessPolicyMessage = (permission: string) =>
  `The user, group or application 'appid=8f3b2c1d-1a2b-4c3d-8e4f-1234567890ab;oid=${callerObjectId};iss=https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/' does not have secrets ${permission} permission on key vault 'keyless;location=eastus'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`;

/** The access-policy fix never belongs in the hint for an RBAC vault. */
const withoutAccessPolicyFix = /^(?![\s\S]*set-policy)/;

const rows: KeyVaultRow[] = [
  {
    name: '401: a token Key Vault does not accept',
    native: (canaries) => restError(canaries, 401, { code: 'Unauthorized' }),
    status: 401,
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: ["secret 'postgres-password'", vaultUrl],
      hint: ['https://vault.azure.net', 'tenant'],
    },
  },
  {
    name: '403 ForbiddenByRbac: no role on the vault',
    native: (canaries) => restError(canaries, 403, { code: 'Forbidden', innerCode: 'ForbiddenByRbac' }),
    status: 403,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['ForbiddenByRbac'],
      hint: [
        'Key Vault Secrets User',
        'az role assignment create --role "Key Vault Secrets User" --assignee <principal-id> --scope <vault-resource-id>',
        withoutAccessPolicyFix,
      ],
    },
  },
  {
    name: '403 AccessDenied: a vault in the access-policy model, no policy for the identity',
    native: (canaries) =>
      restError(canaries, 403, {
        code: 'Forbidden',
        innerCode: 'AccessDenied',
        message: accessPolicyMessage('get'),
      }),
    status: 403,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: [
        "The identity may not read secret 'postgres-password' in https://keyless.vault.azure.net",
        'no access policy of the vault gives it secrets get (AccessDenied)',
      ],
      hint: [
        'the vault uses access policies, not Azure RBAC',
        `az keyvault set-policy --name keyless --object-id ${callerObjectId} --secret-permissions get list`,
        'as Microsoft recommends',
        `az role assignment create --role "Key Vault Secrets User" --assignee ${callerObjectId} --scope <vault-resource-id>`,
        'az keyvault update --name keyless --enable-rbac-authorization true',
        'assign roles to all its callers first',
      ],
    },
  },
  {
    name: '403 AccessDenied for list, on a loopback vault, the message without the caller',
    native: (canaries) =>
      restError(canaries, 403, {
        code: 'Forbidden',
        innerCode: 'AccessDenied',
        message: 'Access denied: the caller does not have secrets list permission on key vault.',
      }),
    context: { vaultUrl: 'https://127.0.0.1:8443' },
    status: 403,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['gives it secrets list (AccessDenied)'],
      hint: [
        'az keyvault set-policy --name <vault> --object-id <object-id> --secret-permissions get list',
        'az keyvault update --name <vault> --enable-rbac-authorization true',
      ],
    },
  },
  {
    name: '403 AccessDenied with a message that names neither caller nor permission',
    native: (canaries) => restError(canaries, 403, { code: 'Forbidden', innerCode: 'AccessDenied' }),
    status: 403,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['gives it the permission (AccessDenied)'],
      hint: ['az keyvault set-policy --name keyless --object-id <object-id> --secret-permissions get list'],
    },
  },
  {
    name: "403 without its inner error, in the access-policy model's words",
    native: (canaries) =>
      restError(canaries, 403, { code: 'Forbidden', message: accessPolicyMessage('get') }),
    status: 403,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['secrets get (AccessDenied)'],
      hint: ['az keyvault set-policy'],
    },
  },
  {
    name: '403 without details',
    native: (canaries) => restError(canaries, 403),
    status: 403,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['(Forbidden)'],
      hint: ['Key Vault Secrets User', withoutAccessPolicyFix],
    },
  },
  {
    name: '403 ForbiddenByFirewall: the network rules',
    native: (canaries) => restError(canaries, 403, { code: 'Forbidden', innerCode: 'ForbiddenByFirewall' }),
    status: 403,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ["network rules refused the request for secret 'postgres-password'"],
      hint: ['az keyvault network-rule add'],
    },
  },
  {
    name: '403 ForbiddenByConnection: public access off, no private endpoint',
    native: (canaries) => restError(canaries, 403, { code: 'Forbidden', innerCode: 'ForbiddenByConnection' }),
    status: 403,
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['network rules'],
      hint: ['private endpoint'],
    },
  },
  {
    name: '403 SecretDisabled (as the error code)',
    native: (canaries) => restError(canaries, 403, { code: 'SecretDisabled' }),
    status: 403,
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: [/^Secret 'postgres-password' in https:\/\/keyless\.vault\.azure\.net is disabled/],
      hint: ['--enabled true'],
    },
  },
  {
    name: '403 SecretDisabled (as the inner error code)',
    native: (canaries) => restError(canaries, 403, { code: 'Forbidden', innerCode: 'SecretDisabled' }),
    status: 403,
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: ['is disabled'],
      hint: ['store a new version'],
    },
  },
  {
    name: '404 SecretNotFound',
    native: (canaries) => restError(canaries, 404, { code: 'SecretNotFound' }),
    status: 404,
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: [`secret postgres-password does not exist in ${vaultUrl}`],
      hint: ['create it or fix the name'],
    },
  },
  {
    name: '404 of a pinned version',
    native: (canaries) => restError(canaries, 404, { code: 'SecretNotFound' }),
    context: { version: 'a1b2c3' },
    status: 404,
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: ['secret postgres-password version a1b2c3 does not exist'],
    },
  },
  {
    name: '429 with Retry-After in seconds',
    native: (canaries) => restError(canaries, 429, { code: 'Throttled', retryAfter: '7' }),
    status: 429,
    retryAfterMs: 7000,
    expected: {
      class: ThrottledError,
      retryable: true,
      message: ["throttled the request for secret 'postgres-password'"],
    },
  },
  {
    name: '429 with Retry-After as an HTTP date',
    native: (canaries) => restError(canaries, 429, { retryAfter: new Date(now + 30_000).toUTCString() }),
    status: 429,
    retryAfterMs: 30_000,
    expected: { class: ThrottledError, retryable: true, message: ['throttled'] },
  },
  {
    name: '429 without Retry-After',
    native: (canaries) => restError(canaries, 429),
    status: 429,
    expected: { class: ThrottledError, retryable: true, message: ['throttled'] },
  },
  ...[500, 502, 503, 504, 408].map(
    (status): KeyVaultRow => ({
      name: `${status}`,
      native: (canaries) => restError(canaries, status, { retryAfter: status === 503 ? '2' : undefined }),
      status,
      ...(status === 503 ? { retryAfterMs: 2000 } : {}),
      expected: {
        class: ServiceUnavailableError,
        retryable: true,
        message: [`Key Vault answered ${status} for secret 'postgres-password'`],
      },
    }),
  ),
  {
    name: '400: a request Key Vault refuses',
    native: (canaries) => restError(canaries, 400, { code: 'BadParameter' }),
    status: 400,
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: ['(400 BadParameter)'],
      hint: ['check the secret name', 'the vault URL'],
    },
  },
  ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'REQUEST_SEND_ERROR'].map(
    (code): KeyVaultRow => ({
      name: `network failure ${code}`,
      native: (canaries) => sendError(canaries, code),
      expected: {
        class: ServiceUnavailableError,
        retryable: true,
        message: [`could not be reached for secret 'postgres-password'`, `(${code})`],
        hint: ['private endpoint'],
      },
    }),
  ),
  {
    name: 'the request was aborted',
    native: (canaries) =>
      Object.assign(new Error(echoing(canaries, 'The operation was aborted.')), { name: 'AbortError' }),
    expected: {
      class: ServiceUnavailableError,
      retryable: true,
      message: ["the request for secret 'postgres-password'", 'was aborted'],
    },
  },
  {
    name: 'a failure without an answer, of no known kind',
    native: (canaries) => new Error(echoing(canaries, 'socket hang up')),
    expected: {
      class: ServiceUnavailableError,
      retryable: true,
      message: ['failed without an answer from Key Vault'],
    },
  },
  {
    name: "the SDK's challenge check: the 401 challenge names another domain",
    native: () =>
      new Error(
        "The challenge resource 'https://vault.azure.net' does not match the requested domain. Set disableChallengeResourceVerification to true",
      ),
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: ["challenge for secret 'postgres-password'", 'names another domain'],
      hint: ['as the portal shows it'],
    },
  },
  ...[
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'CERT_HAS_EXPIRED',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
  ].map(
    (code): KeyVaultRow => ({
      name: `an untrusted certificate (${code})`,
      native: (canaries) =>
        Object.assign(new RestError(echoing(canaries, 'request failed'), { code: 'REQUEST_SEND_ERROR' }), {
          cause: nodeError('certificate verification failed', code),
        }),
      expected: {
        class: ConfigurationError,
        retryable: false,
        message: ['keyless.vault.azure.net', `not trusted (${code})`],
        hint: ['NODE_EXTRA_CA_CERTS', '`clientOptions.tlsOptions.ca`'],
      },
    }),
  ),
  {
    name: 'a certificate for another name',
    native: (canaries) =>
      nodeError(
        echoing(canaries, "Hostname/IP does not match certificate's altnames"),
        'ERR_TLS_CERT_ALTNAME_INVALID',
      ),
    expected: {
      class: ConfigurationError,
      retryable: false,
      message: ['not trusted (ERR_TLS_CERT_ALTNAME_INVALID)'],
      hint: ['not issued for this host name'],
    },
  },
];

/** Each native error's request context, beside the error rather than in it. */
const contexts = new WeakMap<object, SecretRequestContext>();

describeErrorMappingConformance({
  name: '@keyless/keyvault',
  map: (native) => mapKeyVaultError(native, contexts.get(native as object) ?? context),
  rows: rows.map((row) => ({
    ...row,
    native: (canaries: Canaries) => {
      const native = row.native(canaries);
      if (row.context) contexts.set(native as object, { ...context, ...row.context });
      return native;
    },
  })),
});

describe('Key Vault error mapping, what the group does not check', () => {
  it.each(rows)(
    '$name: status, Retry-After, the cause kept, certificate errors as core makes them',
    (row) => {
      const mapped = mapKeyVaultError(row.native(makeCanaries()), { ...context, ...row.context });
      expect(mapped.status).toBe(row.status);
      expect(mapped.retryAfterMs).toBe(row.retryAfterMs);
      // The SDK's error stays reachable as the cause, for logs that want the request id.
      expect(mapped.cause).toBeDefined();
      // The certificate rows are core's one certificate error, as every connector gives it.
      expect(isUntrustedCertificateError(mapped)).toBe(row.name.includes('certificate'));
    },
  );

  it.each([
    ['itself', (error: Error) => error],
    [
      'as the cause of the SDK’s error',
      (error: Error) => Object.assign(new Error('wrapped'), { cause: error }),
    ],
    ['inside an AggregateError', (error: Error) => new AggregateError([new Error('other'), error])],
  ])("passes the provider's own keyless error through unchanged: %s", (_name, wrap) => {
    const unavailable = new CredentialUnavailableError('no managed identity here');
    expect(mapKeyVaultError(wrap(unavailable), context)).toBe(unavailable);
  });

  // The group plants a token, which core's redaction would scrub anyway; a value no redaction knows
  // must stay out of the message and hint by the mapping alone.
  it('never quotes the native message: the messages name the secret and the vault only', () => {
    const value = 'keyvault-error-value-4711';
    const answer = Object.assign(restError(makeCanaries(), 500), { message: `failed: ${value}` });
    const mapped = mapKeyVaultError(answer, context);
    expect(mapped.message.includes(value)).toBe(false);
    expect(mapped.hint?.includes(value) ?? false).toBe(false);
  });

  it("takes only the caller's object id and the missing permission from an access-policy answer", () => {
    const answer = restError(makeCanaries(), 403, {
      code: 'Forbidden',
      innerCode: 'AccessDenied',
      message: accessPolicyMessage('get'),
    });
    const mapped = mapKeyVaultError(answer, context);
    const shown = `${mapped.message}\n${mapped.hint ?? ''}`;
    expect(shown).toContain(callerObjectId);
    // The application id, the token issuer's tenant and the vault's location stay out.
    for (const quoted of ['8f3b2c1d-1a2b-4c3d-8e4f-1234567890ab', '72f988bf', 'location=eastus', 'fwlink']) {
      expect(shown.includes(quoted)).toBe(false);
    }
  });

  it('reads no more of a huge access-policy answer than keyless keeps of any error text', () => {
    // Past the first 4 KB, the caller and permission are not looked for: the generic hint stays.
    const answer = restError(makeCanaries(), 403, {
      code: 'Forbidden',
      innerCode: 'AccessDenied',
      message: `${'x'.repeat(1_000_000)} ${accessPolicyMessage('list')}`,
    });
    const mapped = mapKeyVaultError(answer, context);
    expect(mapped).toBeInstanceOf(AuthorizationError);
    expect(mapped.hint).toContain('--object-id <object-id>');
    expect(mapped.message).toContain('gives it the permission (AccessDenied)');
  });

  it('an answer without a value is an invalid response (through the simulation hook)', async () => {
    const connector = createKeyVaultConnectorWithInternals(
      {
        vaultUrl,
        tokenProvider: {
          getToken: () => Promise.reject(new Error('the getSecret hook replaces the SecretClient')),
        } as unknown as TokenProvider,
      },
      { getSecret: async () => ({ properties: { version: 'one' } }) },
    );
    const error = await connector
      .secret('postgres-password')
      .get()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KeylessError);
    expect(error).toMatchObject({ code: 'invalid-response', retryable: false });
    expect((error as Error).message).toContain('check that the vault URL points at Key Vault');
    await connector.close();
  });
});
