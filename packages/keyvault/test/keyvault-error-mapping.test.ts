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
import { describe, expect, it } from 'vitest';
import { mapKeyVaultError, type SecretRequestContext } from '../src/key-vault-error-mapping.js';
import { createKeyVaultConnectorWithInternals } from '../src/testing.js';

/**
 * Every mapping @keyless/keyvault does, without a vault: what the SDK (or the network under it)
 * throws, and what the caller gets — class, code, status, retryable, Retry-After, and the words of
 * the message and hint that tell the user what to do.
 */

const now = Date.parse('2025-01-01T00:00:00Z');
const vaultUrl = 'https://keyless.vault.azure.net';
const context: SecretRequestContext = { vaultUrl, name: 'postgres-password', now };

interface RestErrorParts {
  code?: string;
  innerCode?: string;
  retryAfter?: string;
}

/** What `SecretClient.getSecret` throws for an error answer (an @azure/core-rest-pipeline RestError). */
function restError(statusCode: number, parts: RestErrorParts = {}): Error {
  return Object.assign(new Error(`Service answered ${statusCode}`), {
    name: 'RestError',
    statusCode,
    code: parts.code,
    details: parts.innerCode
      ? { error: { code: parts.code, innererror: { code: parts.innerCode } } }
      : undefined,
    response: {
      headers: { get: (header: string) => (header === 'retry-after' ? parts.retryAfter : undefined) },
    },
  });
}

function nodeError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

interface Row {
  name: string;
  error: () => unknown;
  context?: Partial<SecretRequestContext>;
  type: abstract new (...args: never[]) => KeylessError;
  code: KeylessError['code'];
  retryable: boolean;
  status?: number;
  retryAfterMs?: number;
  /** Each must appear in the message (which ends with the hint). */
  words: (string | RegExp)[];
}

const rows: Row[] = [
  {
    name: '401: a token Key Vault does not accept',
    error: () => restError(401, { code: 'Unauthorized' }),
    type: AuthenticationFailedError,
    code: 'authentication-failed',
    retryable: false,
    status: 401,
    words: ["secret 'postgres-password'", vaultUrl, 'https://vault.azure.net', 'tenant'],
  },
  {
    name: '403 ForbiddenByRbac: no role on the vault',
    error: () => restError(403, { code: 'Forbidden', innerCode: 'ForbiddenByRbac' }),
    type: AuthorizationError,
    code: 'authorization',
    retryable: false,
    status: 403,
    words: [
      'ForbiddenByRbac',
      'Key Vault Secrets User',
      'az role assignment create --role "Key Vault Secrets User" --assignee <principal-id> --scope <vault-resource-id>',
    ],
  },
  {
    name: '403 without details',
    error: () => restError(403),
    type: AuthorizationError,
    code: 'authorization',
    retryable: false,
    status: 403,
    words: ['(Forbidden)', 'Key Vault Secrets User'],
  },
  {
    name: '403 ForbiddenByFirewall: the network rules',
    error: () => restError(403, { code: 'Forbidden', innerCode: 'ForbiddenByFirewall' }),
    type: AuthorizationError,
    code: 'authorization',
    retryable: false,
    status: 403,
    words: [
      "network rules refused the request for secret 'postgres-password'",
      'az keyvault network-rule add',
    ],
  },
  {
    name: '403 ForbiddenByConnection: public access off, no private endpoint',
    error: () => restError(403, { code: 'Forbidden', innerCode: 'ForbiddenByConnection' }),
    type: AuthorizationError,
    code: 'authorization',
    retryable: false,
    status: 403,
    words: ['network rules', 'private endpoint'],
  },
  {
    name: '403 SecretDisabled (as the error code)',
    error: () => restError(403, { code: 'SecretDisabled' }),
    type: ConfigurationError,
    code: 'configuration',
    retryable: false,
    status: 403,
    words: [
      /^Secret 'postgres-password' in https:\/\/keyless\.vault\.azure\.net is disabled/,
      '--enabled true',
    ],
  },
  {
    name: '403 SecretDisabled (as the inner error code)',
    error: () => restError(403, { code: 'Forbidden', innerCode: 'SecretDisabled' }),
    type: ConfigurationError,
    code: 'configuration',
    retryable: false,
    status: 403,
    words: ['is disabled', 'store a new version'],
  },
  {
    name: '404 SecretNotFound',
    error: () => restError(404, { code: 'SecretNotFound' }),
    type: ConfigurationError,
    code: 'configuration',
    retryable: false,
    status: 404,
    words: [`secret postgres-password does not exist in ${vaultUrl}`, 'create it or fix the name'],
  },
  {
    name: '404 of a pinned version',
    error: () => restError(404, { code: 'SecretNotFound' }),
    context: { version: 'a1b2c3' },
    type: ConfigurationError,
    code: 'configuration',
    retryable: false,
    status: 404,
    words: ['secret postgres-password version a1b2c3 does not exist'],
  },
  {
    name: '429 with Retry-After in seconds',
    error: () => restError(429, { code: 'Throttled', retryAfter: '7' }),
    type: ThrottledError,
    code: 'throttled',
    retryable: true,
    status: 429,
    retryAfterMs: 7000,
    words: ["throttled the request for secret 'postgres-password'"],
  },
  {
    name: '429 with Retry-After as an HTTP date',
    error: () => restError(429, { retryAfter: new Date(now + 30_000).toUTCString() }),
    type: ThrottledError,
    code: 'throttled',
    retryable: true,
    status: 429,
    retryAfterMs: 30_000,
    words: ['throttled'],
  },
  {
    name: '429 without Retry-After',
    error: () => restError(429),
    type: ThrottledError,
    code: 'throttled',
    retryable: true,
    status: 429,
    words: ['throttled'],
  },
  ...[500, 502, 503, 504, 408].map(
    (status): Row => ({
      name: `${status}`,
      error: () => restError(status, { retryAfter: status === 503 ? '2' : undefined }),
      type: ServiceUnavailableError,
      code: 'unavailable',
      retryable: true,
      status,
      ...(status === 503 ? { retryAfterMs: 2000 } : {}),
      words: [`Key Vault answered ${status} for secret 'postgres-password'`],
    }),
  ),
  {
    name: '400: a request Key Vault refuses',
    error: () => restError(400, { code: 'BadParameter' }),
    type: ConfigurationError,
    code: 'configuration',
    retryable: false,
    status: 400,
    words: ['(400 BadParameter)', 'check the secret name', 'the vault URL'],
  },
  ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'REQUEST_SEND_ERROR'].map(
    (code): Row => ({
      name: `network failure ${code}`,
      error: () => Object.assign(nodeError(`connect ${code}`, code), { name: 'RestError' }),
      type: ServiceUnavailableError,
      code: 'unavailable',
      retryable: true,
      words: [`could not be reached for secret 'postgres-password'`, `(${code})`, 'private endpoint'],
    }),
  ),
  {
    name: 'the request was aborted',
    error: () => Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }),
    type: ServiceUnavailableError,
    code: 'unavailable',
    retryable: true,
    words: ["the request for secret 'postgres-password'", 'was aborted'],
  },
  {
    name: 'a failure without an answer, of no known kind',
    error: () => new Error('socket hang up'),
    type: ServiceUnavailableError,
    code: 'unavailable',
    retryable: true,
    words: ['failed without an answer from Key Vault'],
  },
  {
    name: "the SDK's challenge check: the 401 challenge names another domain",
    error: () =>
      new Error(
        "The challenge resource 'https://vault.azure.net' does not match the requested domain. Set disableChallengeResourceVerification to true",
      ),
    type: ConfigurationError,
    code: 'configuration',
    retryable: false,
    words: ["challenge for secret 'postgres-password'", 'names another domain', 'as the portal shows it'],
  },
  ...[
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'CERT_HAS_EXPIRED',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
  ].map(
    (code): Row => ({
      name: `an untrusted certificate (${code})`,
      error: () =>
        Object.assign(new Error('request failed'), { name: 'RestError', cause: nodeError('bad', code) }),
      type: ConfigurationError,
      code: 'configuration',
      retryable: false,
      words: [
        'keyless.vault.azure.net',
        `not trusted (${code})`,
        'NODE_EXTRA_CA_CERTS',
        '`clientOptions.tlsOptions.ca`',
      ],
    }),
  ),
  {
    name: 'a certificate for another name',
    error: () =>
      nodeError("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'),
    type: ConfigurationError,
    code: 'configuration',
    retryable: false,
    words: ['not trusted (ERR_TLS_CERT_ALTNAME_INVALID)', 'not issued for this host name'],
  },
];

describe('Key Vault error mapping, without a vault', () => {
  it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const thrown = row.error();
    const mapped = mapKeyVaultError(thrown, { ...context, ...row.context });
    expect(mapped).toBeInstanceOf(row.type);
    expect(mapped).toMatchObject({ code: row.code, retryable: row.retryable });
    expect(mapped.status).toBe(row.status);
    expect(mapped.retryAfterMs).toBe(row.retryAfterMs);
    expect(mapped.cause).toBeDefined();
    for (const word of row.words)
      expect(mapped.message).toMatch(word instanceof RegExp ? word : literally(word));
    // The certificate rows are core's one certificate error, as every connector gives it.
    expect(isUntrustedCertificateError(mapped)).toBe(row.name.includes('certificate'));
  });

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

  it('never quotes a value: the messages name the secret and the vault only', () => {
    const value = 'keyvault-error-value-4711';
    const answer = Object.assign(restError(500), { message: `failed: ${value}`, request: { body: value } });
    const mapped = mapKeyVaultError(answer, context);
    expect(mapped.message.includes(value)).toBe(false);
    expect(mapped.hint?.includes(value) ?? false).toBe(false);
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

function literally(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}
