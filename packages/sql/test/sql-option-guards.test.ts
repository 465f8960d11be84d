import tls from 'node:tls';
import { ConfigurationError, type TokenProvider } from '@keyless/core';
import { catchError, makeCanaries, renderEveryWay, runOneOffScript } from '@keyless/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqlConnector, type SqlConnector, type SqlConnectorOptions } from '../src/index.js';
import { resolveSqlOptions } from '../src/sql-options.js';

/** A provider that is never asked: these connectors are created and closed without a query. */
const unusedProvider = {
  getToken: () => Promise.reject(new Error('not asked for a token in these tests')),
} as unknown as TokenProvider;

const base = { server: 'localhost', database: 'keyless', tokenProvider: unusedProvider };

describe('createSqlConnector refuses what it would otherwise ignore', () => {
  const connectors: SqlConnector[] = [];
  afterEach(async () => {
    for (const created of connectors.splice(0)) await created.close();
  });

  it.each([
    ['a misspelt option', { databse: 'keyless' }, '`databse`', /misspelling/],
    ['a tedious `options` object', { options: { encrypt: true } }, '`options`', /top-level options/],
    [
      'tedious `authentication`',
      { authentication: { type: 'default', options: { userName: 'sa', password: 'keyless-canary-secret' } } },
      '`authentication`',
      /tokenProvider/,
    ],
    ['a password', { password: 'keyless-canary-secret' }, '`password`', /needs no user name, password/],
    ['tedious debug options', { debug: { token: true } }, '`debug`', /would print the access token/],
  ])('%s: ConfigurationError naming the key, never its value', (_name, extra, key, hint) => {
    const error = catchError(() => createSqlConnector({ ...base, ...extra } as SqlConnectorOptions));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(key);
    expect((error as ConfigurationError).hint).toMatch(hint);
    expect(JSON.stringify([(error as Error).message, (error as ConfigurationError).hint])).not.toContain(
      'keyless-canary-secret',
    );
  });

  it('accepts every documented option, and an unknown key whose value is undefined (it sets nothing)', () => {
    const everything: SqlConnectorOptions = {
      ...base,
      port: 1433,
      encrypt: 'strict',
      ca: '-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n',
      pool: { min: 0, max: 2, acquireTimeoutMs: 1_000, idleTimeoutMs: 1_000, maxLifetimeMs: 1_000 },
      connectTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
    };
    connectors.push(createSqlConnector(everything));
    connectors.push(createSqlConnector({ ...base, user: undefined } as SqlConnectorOptions));
  });

  it('refuses a token passed where the provider belongs, without echoing it (tedious would fail the first login)', () => {
    const { token } = makeCanaries();
    const error = catchError(() =>
      createSqlConnector({ ...base, tokenProvider: token as unknown as TokenProvider }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('`tokenProvider`');
    expect((error as Error).message).toContain('got a string');
    expect(renderEveryWay(error).join('\n').includes(token)).toBe(false);
  });

  it('refuses a pasted connection string without echoing its password', () => {
    const error = catchError(() =>
      createSqlConnector({ ...base, server: 'Server=tcp:x.database.windows.net;Password=hunter22' }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(renderEveryWay(error).join('\n').includes('hunter22')).toBe(false);
  });

  it('refuses pool.min above pool.max', () => {
    const error = catchError(() => createSqlConnector({ ...base, pool: { min: 4, max: 2 } }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('min (4) is larger than max (2)');
  });

  it('refuses options that are not an object', () => {
    expect(catchError(() => createSqlConnector(null as unknown as SqlConnectorOptions))).toBeInstanceOf(
      ConfigurationError,
    );
  });
});

describe('option `ca`', () => {
  it('adds the CA to the default trust (NODE_EXTRA_CA_CERTS included) instead of replacing it', () => {
    const resolved = resolveSqlOptions({ ...base, ca: 'the extra CA' }, {});
    expect(resolved.ca?.at(-1)).toBe('the extra CA');
    expect(resolved.ca?.slice(0, -1)).toEqual(tls.getCACertificates('default'));
    // The test setup trusts the local CA through NODE_EXTRA_CA_CERTS: it must still be trusted.
    expect(tls.getCACertificates('extra').every((extra) => resolved.ca?.includes(extra))).toBe(true);
    expect(tls.getCACertificates('extra').length).toBeGreaterThan(0);
  });

  it('on a Node without tls.getCACertificates (before 22.15), is refused with what to do instead', () => {
    const error = catchError(() => resolveSqlOptions({ ...base, ca: 'the extra CA' }, {}, {}));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('`ca` needs Node.js 22.15');
    expect((error as ConfigurationError).hint).toContain('NODE_EXTRA_CA_CERTS');
    // Without `ca`, nothing needs it.
    expect(resolveSqlOptions(base, {}, {}).ca).toBeUndefined();
  });
});

describe('debug output that would print credentials', () => {
  it('createSqlConnector warns once in production when NODE_DEBUG would print them', async () => {
    const result = await runOneOffScript(
      process.cwd(),
      `import { createSqlConnector } from '@keyless/sql';
async function main() {
  const tokenProvider = { getToken: async () => { throw new Error('not asked'); } };
  const sql = createSqlConnector({ server: 'localhost', database: 'keyless', tokenProvider });
  await sql.close();
  return 'created';
}`,
      { env: { ...process.env, NODE_ENV: 'production', NODE_DEBUG: 'tls' } },
    );
    expect(result.settled).toBe('resolved "created"');
    expect(result.output.includes('KEYLESS_DEBUG_OUTPUT')).toBe(true);
    expect(result.output.includes('NODE_DEBUG=tls')).toBe(true);
  });
});
