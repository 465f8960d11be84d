// What a SQL connector records through OpenTelemetry when an SDK is registered (issue 14), against
// the local TDS endpoint with the SDK's in-memory exporters: a login span with the semantic
// conventions' database attributes, a refused login as an error span and an authentication-failure
// count — and no token in anything exported.
import { createTokenProvider, type TokenProvider } from '@keyless/core';
import { type LocalAzure, type SqlEndpoint, startLocalAzure } from '@keyless/local-azure';
import { findLeaks, useManagedIdentityEnvironment } from '@keyless/testing';
import { captureOpenTelemetry, type OpenTelemetryCapture } from '@keyless/testing/open-telemetry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqlConnector, type SqlConnector } from '../src/index.js';

let stack: LocalAzure;
let sql: SqlEndpoint;
let restoreEnvironment: () => void;
let telemetry: OpenTelemetryCapture;
const closeAfter: (SqlConnector | TokenProvider)[] = [];

function connectorFor(
  identity: NonNullable<Parameters<typeof createTokenProvider>[0]>['identity'],
): SqlConnector {
  const tokenProvider = createTokenProvider({ identity });
  const connector = createSqlConnector({
    server: sql.host,
    port: sql.port,
    database: sql.database,
    tokenProvider,
  });
  closeAfter.push(connector, tokenProvider);
  return connector;
}

beforeAll(async () => {
  telemetry = captureOpenTelemetry();
  stack = await startLocalAzure({ services: ['sql'], stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER });
  sql = stack.sql as SqlEndpoint;
  restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
});

afterEach(async () => {
  for (const each of closeAfter.splice(0)) await each.close();
});

afterAll(async () => {
  restoreEnvironment?.();
  await stack?.stop();
  telemetry?.stop();
});

describe('OpenTelemetry from @keyless/sql', () => {
  it('a login is a span with db.system.name, server.address, server.port and db.namespace', async () => {
    await connectorFor({ clientId: stack.appIdentity.clientId }).connect();
    const logins = telemetry.spans().filter((span) => span.name === 'keyless.connector.login');
    expect(logins).toHaveLength(1);
    expect(logins[0]?.attributes).toMatchObject({
      'db.system.name': 'microsoft.sql_server',
      'server.address': sql.host,
      'server.port': sql.port,
      'db.namespace': sql.database,
    });
    expect(logins[0]?.status.code).not.toBe(2);
  });

  it('a refused login (no database user): an error span and an authentication-failure count', async () => {
    const before = await telemetry.total('keyless.connector.authentication.failures', {
      'db.system.name': 'microsoft.sql_server',
    });
    await expect(connectorFor('system-assigned').connect()).rejects.toMatchObject({ code: 'authorization' });
    const refused = telemetry
      .spans()
      .filter((span) => span.name === 'keyless.connector.login' && span.status.code === 2);
    expect(refused.map((span) => span.attributes['error.type'])).toEqual(['authorization']);
    expect(
      await telemetry.total('keyless.connector.authentication.failures', {
        'db.system.name': 'microsoft.sql_server',
      }),
    ).toBe(before + 1);
  });

  it('exports no token', async () => {
    const exported = await telemetry.exportedText();
    expect(exported).toContain('keyless.connector.login');
    expect(findLeaks(exported, stack.identity.issuedTokens())).toHaveLength(0);
  });
});
