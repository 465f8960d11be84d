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
import {
  type Canaries,
  describeErrorMappingConformance,
  type ErrorMappingRow,
  makeCanaries,
} from '@keyless/testing';
import { ReplyError } from 'ioredis';
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

/**
 * Every mapping @keyless/redis does, without a server: the home of the table. The error-mapping
 * group of the connector conformance suite runs it (class, code, retryability, message and hint
 * words; no view of a mapped error shows the canary planted in the native one — ioredis attaches
 * the failed command with its arguments, for AUTH the password or token); the tests below check
 * what the group does not (which replies are refused logins, commands that gave up, the bounded
 * cause, and a password that cannot be had). The tests against the local Redis prove that real
 * logins produce these native errors.
 */

const context: RedisErrorContext = {
  mode: 'key-vault-secret',
  host: 'cache.example',
  port: 6380,
  user: 'app',
  secretName: 'redis-password',
};

const entraContext: Partial<RedisErrorContext> = {
  mode: 'entra-token',
  user: '00000000-0000-0000-0000-0000000000ff',
  secretName: undefined,
};

/** ioredis's ReplyError, with the failed command attached as ioredis attaches it: arguments included. */
function replyError(
  message: string,
  command: { name: string; args: string[] } = { name: 'get', args: [] },
): Error {
  const error = new ReplyError(message) as Error;
  return Object.assign(error, { command });
}

/** The handshake's AUTH, as ioredis sends it: the user, then the password (or the Entra token). */
const auth = (user: string, password: string) => ({ name: 'auth', args: [user, password] });

function nodeError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

interface RedisRow extends ErrorMappingRow {
  context?: Partial<RedisErrorContext>;
}

const rows: RedisRow[] = [
  {
    name: 'WRONGPASS for an ACL user (secret mode)',
    native: (canaries) =>
      replyError('WRONGPASS invalid username-password pair', auth('app', canaries.secret)),
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: [
        "Redis at cache.example:6380 refused the password for user 'app'",
        "(Key Vault secret 'redis-password', fetched afresh)",
      ],
      hint: ['the option `user` / KEYLESS_REDIS_USER'],
    },
  },
  {
    name: "WRONGPASS for Redis's default user (access keys)",
    native: (canaries) =>
      replyError('WRONGPASS invalid username-password pair', { name: 'auth', args: [canaries.secret] }),
    context: { user: undefined },
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: ['refused the password for the default user'],
      hint: ['the access key for the default user'],
    },
  },
  {
    name: 'WRONGPASS in Entra mode: no access policy for the object id',
    native: (canaries) =>
      replyError(
        'WRONGPASS invalid username-password pair',
        auth('00000000-0000-0000-0000-0000000000ff', canaries.token),
      ),
    context: entraContext,
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      message: ["refused the Entra token for user '00000000-0000-0000-0000-0000000000ff'"],
      hint: [
        'az redis access-policy-assignment create',
        '--object-id 00000000-0000-0000-0000-0000000000ff',
        'the option `user` / KEYLESS_REDIS_ENTRA_USER',
      ],
    },
  },
  {
    name: 'WRONGPASS in Entra mode on Azure Cache for Redis: enable Entra, assign Data Contributor',
    native: (canaries) =>
      replyError(
        'WRONGPASS invalid username-password pair',
        auth('00000000-0000-0000-0000-0000000000ff', canaries.token),
      ),
    context: { ...entraContext, host: 'orders.redis.cache.windows.net', port: 6380 },
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      hint: [
        'enable Microsoft Entra authentication on the cache',
        'az redis access-policy-assignment create --name orders ',
        '--access-policy-name "Data Contributor" --object-id 00000000-0000-0000-0000-0000000000ff',
      ],
    },
  },
  {
    name: 'WRONGPASS in Entra mode on Azure Managed Redis: the default policy on database default',
    native: (canaries) =>
      replyError(
        'WRONGPASS invalid username-password pair',
        auth('00000000-0000-0000-0000-0000000000ff', canaries.token),
      ),
    context: { ...entraContext, host: 'orders.westeurope.redis.azure.net', port: 10000 },
    expected: {
      class: AuthenticationFailedError,
      retryable: false,
      hint: [
        'az redisenterprise database access-policy-assignment create --cluster-name orders ',
        '--database-name default --access-policy-assignment-name <assignment> --access-policy-name default',
        'not its client id',
      ],
    },
  },
  {
    // The handshake of RESP3 carries the credential in HELLO: HELLO 3 AUTH <user> <token>.
    name: 'WRONGPASS on HELLO (Entra mode)',
    native: (canaries) =>
      replyError('WRONGPASS invalid username-password pair or user is disabled.', {
        name: 'hello',
        args: ['3', 'AUTH', '00000000-0000-0000-0000-0000000000ff', canaries.token],
      }),
    context: entraContext,
    expected: { class: AuthenticationFailedError, retryable: false, message: ['refused the Entra token'] },
  },
  {
    name: 'NOAUTH',
    native: () => replyError('NOAUTH Authentication required.'),
    expected: { class: AuthenticationFailedError, retryable: false },
  },
  {
    name: 'ERR invalid password (Redis before ACLs)',
    native: (canaries) => replyError('ERR invalid password', { name: 'auth', args: [canaries.secret] }),
    expected: { class: AuthenticationFailedError, retryable: false },
  },
  {
    name: 'NOPERM in secret mode: a command Azure disables for every user',
    native: (canaries) =>
      replyError("NOPERM User app has no permissions to run the 'config' command", {
        name: 'config',
        args: ['set', 'requirepass', canaries.secret],
      }),
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ["refused the command CONFIG for user 'app'", '(NOPERM): not permitted by its access policy'],
      hint: ['Azure disables for every user', 'ACL SETUSER'],
    },
  },
  {
    // Data Contributor leaves out @dangerous: INFO, KEYS, CLIENT, … (Redis 7's wording).
    name: 'NOPERM in Entra mode on Azure Cache for Redis: the access policy, and Data Owner',
    native: () =>
      replyError(
        "NOPERM User 00000000-0000-0000-0000-0000000000ff has no permissions to run the 'info' command",
        { name: 'info', args: [] },
      ),
    context: { ...entraContext, host: 'orders.redis.cache.windows.net', port: 6380 },
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: [
        'Redis at orders.redis.cache.windows.net:6380 refused the command INFO',
        "user '00000000-0000-0000-0000-0000000000ff'",
      ],
      hint: [
        '"Data Contributor" allows every command but the @dangerous ones',
        'az redis access-policy-assignment create --name orders ',
        '--access-policy-name "Data Owner" --object-id 00000000-0000-0000-0000-0000000000ff',
        'https://learn.microsoft.com/azure/azure-cache-for-redis/cache-configure-role-based-access-control',
      ],
    },
  },
  {
    // Redis 6's wording (Azure Cache for Redis runs Redis 6), a subcommand's container named.
    name: "NOPERM in Entra mode, Redis 6's wording",
    native: () =>
      replyError("NOPERM this user has no permissions to run the 'keys' command or its subcommand", {
        name: 'keys',
        args: ['*'],
      }),
    context: { ...entraContext, host: 'orders.redis.cache.windows.net', port: 6380 },
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['refused the command KEYS'],
      hint: ['does not allow KEYS', 'az redis access-policy-assignment create'],
    },
  },
  {
    name: 'NOPERM in Entra mode on Azure Managed Redis: its one policy, default, on database default',
    native: () =>
      replyError(
        "NOPERM User 00000000-0000-0000-0000-0000000000ff has no permissions to run the 'keys' command",
      ),
    context: { ...entraContext, host: 'orders.westeurope.redis.azure.net', port: 10000 },
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['refused the command KEYS'],
      hint: [
        'az redisenterprise database access-policy-assignment create --cluster-name orders ',
        '--database-name default',
        '--access-policy-name default --object-id 00000000-0000-0000-0000-0000000000ff',
        'https://learn.microsoft.com/azure/redis/best-practices-client-libraries#blocked-commands',
      ],
    },
  },
  {
    name: 'NOPERM in Entra mode, a custom host name on port 10000: Azure Managed Redis',
    native: () => replyError("NOPERM User x has no permissions to run the 'keys' command"),
    context: { ...entraContext, host: 'redis.internal.example', port: 10000 },
    expected: {
      class: AuthorizationError,
      retryable: false,
      hint: ['az redisenterprise database access-policy-assignment create --cluster-name <cache> '],
    },
  },
  {
    name: 'NOPERM in Entra mode, a host of neither product: both commands',
    native: () => replyError("NOPERM User x has no permissions to run the 'flushall' command"),
    context: { ...entraContext, host: '127.0.0.1', port: 6390 },
    expected: {
      class: AuthorizationError,
      retryable: false,
      message: ['refused the command FLUSHALL'],
      hint: [
        'on Azure Cache for Redis: ',
        'az redis access-policy-assignment create',
        'on Azure Managed Redis: ',
        'az redisenterprise database access-policy-assignment create',
      ],
    },
  },
  {
    name: 'NOPERM for a key',
    native: (canaries) =>
      replyError('NOPERM No permissions to access a key', { name: 'get', args: [canaries.secret] }),
    context: { ...entraContext, host: 'orders.redis.cache.windows.net', port: 6380 },
    expected: { class: AuthorizationError, retryable: false, message: ['refused access to a key'] },
  },
  ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'EPIPE'].map(
    (code): RedisRow => ({
      name: `${code}`,
      native: () => nodeError(`connect ${code}`, code),
      expected: {
        class: ServiceUnavailableError,
        retryable: true,
        message: ['Redis at cache.example:6380 could not be reached'],
        hint: ['keyless-local up redis'],
      },
    }),
  ),
  {
    name: 'a refused connect inside an AggregateError (happy eyeballs)',
    native: () => new AggregateError([nodeError('connect ECONNREFUSED ::1:6380', 'ECONNREFUSED')], 'failed'),
    expected: { class: ServiceUnavailableError, retryable: true },
  },
  ...['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED'].map(
    (code): RedisRow => ({
      name: `an untrusted certificate (${code})`,
      native: () => nodeError('certificate problem', code),
      expected: {
        class: ConfigurationError,
        retryable: false,
        message: [`not trusted (${code})`],
        hint: ['NODE_EXTRA_CA_CERTS', '`tls.ca`'],
      },
    }),
  ),
  {
    name: 'a certificate for another name',
    native: () =>
      nodeError("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'),
    expected: { class: ConfigurationError, retryable: false, hint: ['not issued for this host name'] },
  },
  {
    name: "the application's WRONGTYPE",
    native: () => replyError('WRONGTYPE Operation against a key'),
    expected: 'unchanged',
  },
  {
    name: "the application's unknown command",
    native: () => replyError("ERR unknown command 'FOO'"),
    expected: 'unchanged',
  },
  {
    name: "the application's own TypeError",
    native: () => new TypeError('not a function'),
    expected: 'unchanged',
  },
  {
    name: "a keyless error (the password source's)",
    native: () => new CredentialUnavailableError('no managed identity here'),
    expected: 'unchanged',
  },
];

/** Each native error's context, beside the error rather than in it. */
const contexts = new WeakMap<object, RedisErrorContext>();

describeErrorMappingConformance({
  name: '@keyless/redis',
  map: (native) => mapRedisError(native, contexts.get(native as object) ?? context),
  rows: rows.map((row) => ({
    ...row,
    native: (canaries: Canaries) => {
      const native = row.native(canaries);
      if (row.context) contexts.set(native as object, { ...context, ...row.context });
      return native;
    },
  })),
});

describe('Redis error mapping, what the group does not check', () => {
  const mappedRows = rows.filter((row) => row.expected !== 'unchanged');

  it.each(mappedRows)(
    '$name: a cause without the command arguments, certificate errors as core makes them',
    (row) => {
      const mapped = mapRedisError(row.native(makeCanaries()), {
        ...context,
        ...row.context,
      }) as KeylessError;
      // The command's name stays, for logs; its arguments (a password, a token, the app's data) never do.
      expect((mapped.cause as { command?: { args?: unknown } }).command?.args).toBeUndefined();
      expect(isUntrustedCertificateError(mapped)).toBe(row.name.includes('certificate'));
    },
  );

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
    const echoed = replyError(`ERR Error running script: ${'x'.repeat(140_000)}`, {
      name: 'evalsha',
      args: ['a-script-sha', '0'],
    });
    const cause = sanitizedCause(echoed) as Error;
    expect(cause.message.length).toBeLessThan(maxErrorTextLength + 100);
    expect(String(cause.stack).length).toBeLessThan(3 * maxErrorTextLength);
    expect((cause as { command?: unknown }).command).toEqual({ name: 'evalsha' });
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
