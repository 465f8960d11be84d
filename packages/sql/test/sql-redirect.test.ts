import type { EventEmitter } from 'node:events';
import { createTokenProvider, ServiceUnavailableError, type TokenProvider } from '@keyless/core';
import { findFreePort, type LocalAzure, type SqlEndpoint, startLocalAzure } from '@keyless/local-azure';
import { useManagedIdentityEnvironment } from '@keyless/testing';
import type { Connection } from 'tedious';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SqlConnector } from '../src/index.js';
import { createSqlConnectorWithInternals, type SqlConnectorInternals } from '../src/testing.js';

/**
 * From inside Azure the default connection policy is Redirect: the gateway on 1433 accepts the login
 * and routes the client to the database's node on a port in 11000–11999, where tedious makes a
 * second TLS handshake and token login
 * (https://learn.microsoft.com/azure/azure-sql/database/connectivity-architecture#connection-policy).
 */

let stack: LocalAzure;
let sql: SqlEndpoint;
let restoreEnvironment: () => void;
const connectors: SqlConnector[] = [];
const providers: TokenProvider[] = [];

function connector(options: { encrypt?: true | 'strict' } = {}, internals: SqlConnectorInternals = {}) {
  const provider = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  providers.push(provider);
  let tokenRequests = 0;
  const counting = {
    getToken: (...parameters: Parameters<TokenProvider['getToken']>) => {
      tokenRequests += 1;
      return provider.getToken(...parameters);
    },
  } as unknown as TokenProvider;
  const created = createSqlConnectorWithInternals(
    {
      server: sql.host,
      port: sql.port,
      database: sql.database,
      // Room for the first token (its backend library loads then) on a busy CI machine.
      connectTimeoutMs: 20_000,
      tokenProvider: counting,
      ...options,
    },
    internals,
  );
  connectors.push(created);
  return { sqlConnector: created, tokenRequests: () => tokenRequests };
}

beforeAll(async () => {
  stack = await startLocalAzure({
    services: ['sql'],
    stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER,
    sql: { connectionPolicy: 'redirect' },
  });
  sql = stack.sql as SqlEndpoint;
  restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
});

afterEach(async () => {
  for (const created of connectors.splice(0)) await created.close();
  for (const created of providers.splice(0)) await created.close();
});

afterAll(async () => {
  restoreEnvironment?.();
  await stack?.stop();
});

describe("Azure SQL's Redirect connection policy", () => {
  it.each([true, 'strict'] as const)(
    'is followed with encrypt: %s — a TLS handshake and token login at the gateway, then at the node',
    async (encrypt) => {
      const { sqlConnector, tokenRequests } = connector({ encrypt });
      const redirects = sql.counters.redirects;
      expect(await sqlConnector.query('SELECT SUSER_SNAME() AS name, DB_NAME() AS db')).toEqual([
        { name: stack.appIdentity.name, db: sql.database },
      ]);
      expect(sql.counters.redirects).toBe(redirects + 1);
      // token-credential asks once per login: the gateway's and the node's.
      expect(tokenRequests()).toBe(2);
    },
  );

  it('when the node cannot be reached, says so and names 11000–11999 beside 1433', async () => {
    // What a firewall or NSG that allows only 1433 does: the gateway answers, the node's port does not.
    const closedPort = await findFreePort();
    const blockNode = (connection: Connection) => {
      const events: EventEmitter = connection;
      events.on('rerouting', () => {
        const routing = (connection as unknown as { routingData?: { port: number } }).routingData;
        if (routing !== undefined) routing.port = closedPort;
      });
    };
    const { sqlConnector } = connector({}, { onConnection: blockNode });
    const error = await sqlConnector.connect().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toContain(
      `the gateway redirected the login to ${sql.host}:${closedPort}`,
    );
    const hint = (error as ServiceUnavailableError).hint ?? '';
    expect(hint).toContain('11000–11999');
    expect(hint).toContain('1433');
    expect(hint).toContain('--connection-type Proxy');
    expect(sql.counters.redirects).toBeGreaterThan(0);
  });
});
