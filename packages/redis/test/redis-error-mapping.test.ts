import { inspect } from 'node:util';
import {
  AuthenticationFailedError,
  AuthorizationError,
  ConfigurationError,
  CredentialUnavailableError,
  fromKeyVaultSecret,
  type KeylessError,
  ServiceUnavailableError,
  ThrottledError,
} from '@keyless/core';
import { isUntrustedCertificateError, maxErrorTextLength } from '@keyless/core/internal';
import { describe, expect, it } from 'vitest';
import { createRedisConnector } from '../src/index.ts';
import {
  isAuthenticationFailure,
  mapRedisError,
  type RedisErrorContext,
  sanitizedCause,
  unreachableAfterRetries,
} from '../src/redis-error-mapping.js';
import { closedLoopbackPort } from './support.ts';

const context: RedisErrorContext = {
  mode: 'key-vault-secret',
  host: 'cache.example',
  port: 6380,
  user: 'app',
  secretName: 'redis-password',
};

/** An error shaped like ioredis's ReplyError: the failed command, arguments included, attached. */
function replyError(message: string, args: string[] = []): Error {
  return Object.assign(new Error(message), { name: 'ReplyError', command: { name: 'auth', args } });
}

function nodeError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

interface Row {
  name: string;
  error: () => unknown;
  context?: Partial<RedisErrorContext>;
  /** Undefined: the application's error, returned unchanged. */
  type?: abstract new (
    ...args: never[]
  ) => KeylessError;
  code?: KeylessError['code'];
  retryable?: boolean;
  /** Each must appear in the message (which ends with the hint). */
  words?: string[];
}

/** Every mapping @keyless/redis does, without a server: what ioredis reports, and what the caller gets. */
const rows: Row[] = [
  {
    name: 'WRONGPASS for an ACL user (secret mode)',
    error: () => replyError('WRONGPASS invalid username-password pair', ['app', 'hunter2-password']),
    type: AuthenticationFailedError,
    code: 'authentication-failed',
    retryable: false,
    words: [
      "Redis at cache.example:6380 refused the password for user 'app'",
      "(Key Vault secret 'redis-password', fetched afresh)",
      'the option `user` / KEYLESS_REDIS_USER',
    ],
  },
  {
    name: "WRONGPASS for Redis's default user (access keys)",
    error: () => replyError('WRONGPASS invalid username-password pair'),
    context: { user: undefined },
    type: AuthenticationFailedError,
    code: 'authentication-failed',
    retryable: false,
    words: ['refused the password for the default user', 'the access key for the default user'],
  },
  {
    name: 'WRONGPASS in Entra mode: no access policy for the object id',
    error: () => replyError('WRONGPASS invalid username-password pair'),
    context: { mode: 'entra-token', user: '00000000-0000-0000-0000-0000000000ff', secretName: undefined },
    type: AuthenticationFailedError,
    code: 'authentication-failed',
    retryable: false,
    words: [
      "refused the Entra token for user '00000000-0000-0000-0000-0000000000ff'",
      'az redis access-policy-assignment create',
      '--object-id 00000000-0000-0000-0000-0000000000ff',
      'the option `user` / KEYLESS_REDIS_ENTRA_USER',
    ],
  },
  {
    name: 'NOAUTH',
    error: () => replyError('NOAUTH Authentication required.'),
    type: AuthenticationFailedError,
    code: 'authentication-failed',
    retryable: false,
  },
  {
    name: 'ERR invalid password (Redis before ACLs)',
    error: () => replyError('ERR invalid password'),
    type: AuthenticationFailedError,
    code: 'authentication-failed',
    retryable: false,
  },
  {
    name: 'NOPERM',
    error: () => replyError("NOPERM User app has no permissions to run the 'config' command"),
    type: AuthorizationError,
    code: 'authorization',
    retryable: false,
    words: ["refused a command for user 'app'", 'Data Contributor'],
  },
  ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'EPIPE'].map(
    (code): Row => ({
      name: `${code}`,
      error: () => nodeError(`connect ${code}`, code),
      type: ServiceUnavailableError,
      code: 'unavailable',
      retryable: true,
      words: ['Redis at cache.example:6380 could not be reached', 'keyless-local up redis'],
    }),
  ),
  {
    name: 'a refused connect inside an AggregateError (happy eyeballs)',
    error: () => new AggregateError([nodeError('connect ECONNREFUSED ::1:6380', 'ECONNREFUSED')], 'failed'),
    type: ServiceUnavailableError,
    code: 'unavailable',
    retryable: true,
  },
  ...['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED'].map(
    (code): Row => ({
      name: `an untrusted certificate (${code})`,
      error: () => nodeError('certificate problem', code),
      type: ConfigurationError,
      code: 'configuration',
      retryable: false,
      words: [`not trusted (${code})`, 'NODE_EXTRA_CA_CERTS', '`tls.ca`'],
    }),
  ),
  {
    name: 'a certificate for another name',
    error: () =>
      nodeError("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'),
    type: ConfigurationError,
    code: 'configuration',
    retryable: false,
    words: ['not issued for this host name'],
  },
  { name: "the application's WRONGTYPE", error: () => replyError('WRONGTYPE Operation against a key') },
  { name: "the application's unknown command", error: () => replyError("ERR unknown command 'FOO'") },
  { name: "the application's own TypeError", error: () => new TypeError('not a function') },
];

describe('Redis error mapping, without a server', () => {
  it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const thrown = row.error();
    const mapped = mapRedisError(thrown, { ...context, ...row.context }) as KeylessError;
    if (row.type === undefined) {
      expect(mapped).toBe(thrown);
      return;
    }
    expect(mapped).toBeInstanceOf(row.type);
    expect(mapped).toMatchObject({ code: row.code, retryable: row.retryable });
    for (const word of row.words ?? []) expect(mapped.message).toContain(word);
    expect(isUntrustedCertificateError(mapped)).toBe(row.name.includes('certificate'));
    // ioredis attaches the failed command with its arguments (for AUTH: the password): never kept.
    const printed = inspect(mapped, { depth: 6, showHidden: true });
    expect(printed.includes('hunter2-password')).toBe(false);
  });

  it("passes a keyless error (the password source's) through unchanged", () => {
    const unavailable = new CredentialUnavailableError('no managed identity here');
    expect(mapRedisError(unavailable, context)).toBe(unavailable);
  });

  it.each([
    ['WRONGPASS invalid username-password pair', true],
    ['NOAUTH Authentication required.', true],
    ['ERR invalid password', true],
    ['ERR invalid username-password pair or user is disabled.', true],
    ['NOPERM this user has no permissions', false],
    ['ERR wrong number of arguments', false],
  ])('%s is a refused login: %s', (message, refused) => {
    expect(isAuthenticationFailure(replyError(message))).toBe(refused);
  });

  it('commands that gave up after maxRetriesPerRequest: the connection error, mapped, or ServiceUnavailableError naming the option', () => {
    const gaveUp = Object.assign(new Error('Reached the max retries per request limit (which is 20).'), {
      name: 'MaxRetriesPerRequestError',
    });
    const refused = nodeError('connect ECONNREFUSED', 'ECONNREFUSED');
    const fromConnection = unreachableAfterRetries(gaveUp, refused, context);
    expect(fromConnection).toBeInstanceOf(ServiceUnavailableError);
    expect(fromConnection.message).toContain('could not be reached');
    for (const last of [undefined, new Error('something else')]) {
      const mapped = unreachableAfterRetries(gaveUp, last, context) as KeylessError;
      expect(mapped).toBeInstanceOf(ServiceUnavailableError);
      expect(mapped.message).toContain('Reached the max retries per request limit');
      expect(mapped.hint).toContain('`redisOptions.maxRetriesPerRequest`');
    }
  });

  it('keeps a bounded cause: a reply that echoes 140 KB does not carry it along', () => {
    const echoed = replyError(`ERR Error running script: ${'x'.repeat(140_000)}`);
    const cause = sanitizedCause(echoed) as Error;
    expect(cause.message.length).toBeLessThan(maxErrorTextLength + 100);
    expect(String(cause.stack).length).toBeLessThan(3 * maxErrorTextLength);
    expect((cause as { command?: unknown }).command).toEqual({ name: 'auth' });
  });
});

/** A Key Vault connector whose one secret cannot be read, with `error`. */
function unreadableVault(error: Error) {
  return {
    secret: (name: string) => ({
      name,
      version: undefined,
      get: () => Promise.reject(error),
      invalidate() {},
      on: () => () => {},
    }),
  };
}

describe('a password that cannot be had (no server: the fetch fails before any socket)', () => {
  const failures = [
    ['no such secret', new ConfigurationError('secret redis-password does not exist'), true],
    ['no role on the vault', new AuthorizationError('The identity may not read the secret'), true],
    [
      'a throttled vault',
      new ThrottledError('Key Vault throttled the request', { retryAfterMs: 1000 }),
      false,
    ],
    ['a vault that is down', new ServiceUnavailableError('Key Vault answered 503'), false],
  ] as const;

  async function connectorFor(failure: Error) {
    return createRedisConnector({
      host: '127.0.0.1',
      port: await closedLoopbackPort(),
      tls: false,
      password: fromKeyVaultSecret({ connector: unreadableVault(failure), secretName: 'redis-password' }),
      redisOptions: { maxRetriesPerRequest: 1 },
    });
  }

  it.each(failures)(
    '%s: connect() rejects with that error and leaves nothing running',
    async (_name, failure) => {
      const connector = await connectorFor(failure);
      try {
        await expect(connector.connect()).rejects.toBe(failure);
        expect(connector.client.status).toBe('end');
      } finally {
        await connector.close();
      }
    },
  );

  it.each(failures)(
    '%s: the first command gets that error; the client ends (asking again cannot help): %s',
    async (_name, failure, ends) => {
      const connector = await connectorFor(failure);
      try {
        const { client } = connector;
        client.on('error', () => {});
        await expect(client.incr('never-sent')).rejects.toBe(failure);
        // A throttled or failing vault may answer the next attempt (ioredis reconnects and asks
        // again); a missing secret or role will not, so the client ends instead of asking forever.
        expect(client.status === 'end').toBe(ends);
      } finally {
        await connector.close();
      }
    },
  );
});
