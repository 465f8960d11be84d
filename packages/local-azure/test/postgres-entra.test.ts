import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type IdentityEndpoint,
  type PostgresInstance,
  startIdentityEndpoint,
  startPostgres,
} from '../src/index.js';
import { fetchToken, waitUntilExpired } from './support/identity-tokens.js';
import { openSession, tryLogin } from './support/postgres-clients.js';

const postgresResource = 'https://ossrdbms-aad.database.windows.net';

describe('PostgreSQL Entra mode (tokens as passwords through LDAP simple bind)', () => {
  let identity: IdentityEndpoint;
  let instance: PostgresInstance;
  let roleName: string;
  let clientId: string;

  beforeAll(async () => {
    identity = await startIdentityEndpoint();
    const app = identity.userAssigned[0];
    if (!app) throw new Error('the endpoint has no user-assigned identity');
    roleName = app.name;
    clientId = app.clientId;
    instance = await startPostgres({
      identity,
      entraRoles: [{ roleName: app.name, objectId: app.objectId }],
      users: [{ name: 'password-user', password: 'password-user-password' }],
    });
  });

  afterAll(async () => {
    await instance?.stop();
    await identity?.stop();
  });

  it('accepts a token as the password of the role named after the identity', async () => {
    const { token } = await fetchToken(identity, postgresResource, { clientId });
    expect(token.length).toBeGreaterThan(1000);
    const session = await openSession(instance, roleName, token);
    try {
      const { rows } = await session.query<{ user: string }>('SELECT current_user AS user');
      expect(rows[0]?.user).toBe(roleName);
      await session.query('CREATE TABLE entra_notes (body text)');
      await session.query("INSERT INTO entra_notes VALUES ('from a token')");
    } finally {
      await session.end();
    }
  });

  it('accepts the audience with a trailing slash (the /.default scope form)', async () => {
    const { token } = await fetchToken(identity, `${postgresResource}/`, { clientId });
    expect(await tryLogin(instance, roleName, token)).toBe(roleName);
  });

  it('keeps accepting an older token after a newer one is minted', async () => {
    const older = await fetchToken(identity, postgresResource, { clientId });
    const newer = await fetchToken(identity, postgresResource, { clientId });
    expect(newer.token).not.toBe(older.token);
    expect(await tryLogin(instance, roleName, newer.token)).toBe(roleName);
    expect(await tryLogin(instance, roleName, older.token)).toBe(roleName);
  });

  it('refuses an expired token; a session opened with it stays up', async () => {
    // 3 s: a login can take over a second on a busy CI machine, and the session must open before expiry.
    identity.setTokenLifetime(3);
    const shortLived = await fetchToken(identity, postgresResource, { clientId });
    identity.setTokenLifetime(86_400);
    const session = await openSession(instance, roleName, shortLived.token);
    try {
      await waitUntilExpired(shortLived);
      // LDAP authentication failures are SQLSTATE 28000 (invalid_authorization_specification).
      expect(await tryLogin(instance, roleName, shortLived.token)).toBe('28000');
      const { rows } = await session.query<{ answer: number }>('SELECT 1 AS answer');
      expect(rows[0]?.answer).toBe(1);
    } finally {
      await session.end();
    }
  });

  it('refuses a token for another resource', async () => {
    const { token } = await fetchToken(identity, 'https://redis.azure.com', { clientId });
    expect(await tryLogin(instance, roleName, token)).toBe('28000');
  });

  it("refuses another identity's token for this role, and garbage", async () => {
    const systemAssigned = await fetchToken(identity, postgresResource);
    expect(await tryLogin(instance, roleName, systemAssigned.token)).toBe('28000');
    expect(await tryLogin(instance, roleName, 'not-a-token')).toBe('28000');
    const { token } = await fetchToken(identity, postgresResource, { clientId });
    expect(await tryLogin(instance, roleName, `${token.slice(0, -4)}AAAA`)).toBe('28000');
  });

  it('adds an Entra role at run time', async () => {
    const system = identity.systemAssigned;
    if (!system) throw new Error('the endpoint has no system-assigned identity');
    const { token } = await fetchToken(identity, postgresResource);
    // No such role yet: PostgreSQL answers as for a wrong password, so role names do not leak.
    expect(await tryLogin(instance, system.name, token)).toBe('28P01');
    await instance.addEntraRole({ roleName: system.name, objectId: system.objectId });
    expect(await tryLogin(instance, system.name, token)).toBe(system.name);
  });

  it('keeps password users on scram-sha-256 beside the Entra roles', async () => {
    expect(await tryLogin(instance, 'password-user', 'password-user-password')).toBe('password-user');
    const { token } = await fetchToken(identity, postgresResource, { clientId });
    expect(await tryLogin(instance, 'password-user', token)).toBe('28P01');
  });

  it('keeps Entra roles and data across a restart', async () => {
    await instance.restart();
    const { token } = await fetchToken(identity, postgresResource, { clientId });
    const session = await openSession(instance, roleName, token);
    try {
      const { rows } = await session.query<{ body: string }>('SELECT body FROM entra_notes');
      expect(rows).toEqual([{ body: 'from a token' }]);
    } finally {
      await session.end();
    }
  });
});
