import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import { findLeaks } from '@keyless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputOf, resourceOf, runKeylessDoctor, stackEnvironment } from './doctor-support.js';

/**
 * `keyless doctor` as a user runs it — the built command in a child process with the application's
 * environment — against the whole local stack: a healthy set-up passes with exit code 0, and each
 * broken one (made with the stack's admin helpers, as an Azure admin would break it) gives the
 * expected cause and ready fix and a non-zero exit code. No output may contain a token the
 * identity endpoint issued or a secret value the vault holds.
 */
describe('keyless doctor against the local stack', () => {
  let stack: LocalAzure;
  const oid = () => stack.appIdentity.objectId;
  const leaksIn = (text: string) =>
    findLeaks(text, [...stack.identity.issuedTokens(), ...(stack.keyVault?.secretValues() ?? [])]);

  beforeAll(async () => {
    stack = await startLocalAzure({ stateFolder: process.env.KEYLESS_TEST_STATE_FOLDER as string });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it('a healthy set-up: every check passes, exit code 0, the JSON report has the expected shape', async () => {
    const run = await runKeylessDoctor(
      stackEnvironment(stack, () => true, {
        KEYLESS_DEMO_SECRET_NAME: 'demo-message',
        KEYLESS_DEMO_BLOB_CONTAINER: 'keyless-demo',
      }),
      ['--json'],
    );
    expect(run.stderr).toBe('');
    expect(run.exitCode, run.stdout).toBe(0);
    const report = run.report;
    expect(report?.ok).toBe(true);
    expect(report?.host).toMatchObject({
      kind: 'app-service',
      variables: ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER'],
      status: 'pass',
    });
    expect(report?.identity).toMatchObject({
      backend: 'azure-identity',
      selector: `user-assigned client-id ${stack.appIdentity.clientId}`,
      selectorFrom: 'AZURE_CLIENT_ID',
      objectId: oid(),
      tenantId: stack.identity.tenantId,
    });
    expect(report?.identity.resourceId).toMatch(/\/userAssignedIdentities\/keyless-app$/);
    expect(report?.resources.map((each) => `${each.resource}${each.mode ? `/${each.mode}` : ''}`)).toEqual([
      'keyvault',
      'blob',
      'sql',
      'postgres/entra-token',
      'postgres/key-vault-secret',
      'redis/entra-token',
      'redis/key-vault-secret',
    ]);
    for (const resource of report?.resources ?? []) {
      expect(resource.status, `${resource.resource} ${JSON.stringify(resource.probe.failure)}`).toBe('pass');
      expect(resource.token.claims?.oid).toBe(oid());
      expect(resource.token.claims?.tid).toBe(stack.identity.tenantId);
      expect(resource.token.scope).toBe(`${resource.token.claims?.aud}/.default`);
      expect(Date.parse(resource.token.expiresOn ?? '')).toBeGreaterThan(Date.now());
      expect(resource.token.latencyMs).toEqual(expect.any(Number));
      expect(resource.probe.status).toBe('pass');
    }
    expect(resourceOf(report, 'keyvault').probe.operation).toBe('Get Secret demo-message');
    expect(resourceOf(report, 'blob').probe.operation).toBe('Get Container Properties keyless-demo');
    expect(report?.clock.map((each) => [each.source, each.status])).toEqual([
      ['identity endpoint', 'pass'],
      ['Key Vault', 'pass'],
      ['Blob Storage', 'pass'],
    ]);
    expect(report?.configuration).toEqual([]);
    expect(leaksIn(outputOf(run))).toEqual([]);
  });

  it('the table (no --json) says the same, and the command exits by itself', async () => {
    const run = await runKeylessDoctor(
      stackEnvironment(stack, (name) => name.startsWith('KEYLESS_KEYVAULT')),
    );
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^PASS\s+host\s+app-service/m);
    expect(run.stdout).toMatch(/^PASS\s+keyvault\s+https:\/\/127\.0\.0\.1/m);
    expect(run.stdout).toContain('keyless doctor: everything configured works');
    expect(leaksIn(outputOf(run))).toEqual([]);
  });

  it('on the IMDS protocol (a VM): host imds from AZURE_POD_IDENTITY_AUTHORITY_HOST, with the msal backend', async () => {
    const run = await runKeylessDoctor(
      stackEnvironment(stack, (name) => name.startsWith('KEYLESS_KEYVAULT'), {
        IDENTITY_ENDPOINT: undefined,
        IDENTITY_HEADER: undefined,
        ...stack.identity.imdsEnvironment(),
        KEYLESS_TOKEN_PROVIDER: 'msal',
      }),
      ['--json'],
    );
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.report?.host).toMatchObject({
      kind: 'imds',
      variables: ['AZURE_POD_IDENTITY_AUTHORITY_HOST'],
    });
    expect(run.report?.identity).toMatchObject({ backend: 'msal', backendFrom: 'KEYLESS_TOKEN_PROVIDER' });
    expect(run.report?.clock.map((each) => [each.source, each.status])).toEqual([
      ['identity endpoint', 'pass'],
      ['Key Vault', 'pass'],
    ]);
  });

  it('a vault that accepts connections and never answers: the probe and the clock check end at --timeout, and the command exits', async () => {
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const run = await runKeylessDoctor(
        stackEnvironment(stack, () => false, {
          KEYLESS_KEYVAULT_URL: `https://127.0.0.1:${port}/`,
          KEYLESS_DEMO_SECRET_NAME: 'demo-message',
        }),
        ['--json', '--timeout', '4000'],
      );
      expect(run.exitCode, run.stdout).toBe(1);
      const keyVault = resourceOf(run.report, 'keyvault');
      // 4 s: time enough for a first token on a loaded machine; the vault's silence is what is bounded.
      expect(keyVault.token.status).toBe('pass');
      expect(['timeout', 'unavailable']).toContain(keyVault.probe.failure?.code);
      expect(run.report?.clock.find((each) => each.source === 'Key Vault')?.status).toBe('skip');
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('an options file (--config) wins over the environment: the msal backend, the identity and the vault from the file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'keyless-doctor-'));
    try {
      const configFile = join(folder, 'doctor.json');
      await writeFile(
        configFile,
        JSON.stringify({
          tokenProvider: { backend: 'msal', identity: { clientId: stack.appIdentity.clientId } },
          keyVault: { vaultUrl: stack.env.KEYLESS_KEYVAULT_URL, secretName: 'demo-message' },
        }),
      );
      const run = await runKeylessDoctor(
        // The environment names another (unknown) identity and no resource at all.
        stackEnvironment(stack, () => false, { AZURE_CLIENT_ID: randomUUID() }),
        ['--json', '--config', configFile],
      );
      expect(run.exitCode, run.stdout).toBe(0);
      expect(run.report?.identity).toMatchObject({
        backend: 'msal',
        backendFrom: 'tokenProvider.backend',
        selectorFrom: 'tokenProvider.identity',
        objectId: oid(),
      });
      expect(run.report?.resources.map((each) => [each.resource, each.status, each.probe.operation])).toEqual(
        [['keyvault', 'pass', 'Get Secret demo-message']],
      );
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('an options file that is not JSON: a configuration failure naming the file, exit code 1', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'keyless-doctor-'));
    try {
      const configFile = join(folder, 'doctor.json');
      await writeFile(configFile, '{ not json');
      const run = await runKeylessDoctor(
        stackEnvironment(stack, () => true),
        ['--json', '--config', configFile],
      );
      expect(run.exitCode).toBe(1);
      expect(run.report?.configuration[0]?.cause).toContain(
        `The options file ${configFile} is not valid JSON`,
      );
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('an unknown client id: the token request is refused; fix the id or attach the identity; exit code 1', async () => {
    const unknown = randomUUID();
    const run = await runKeylessDoctor(
      stackEnvironment(stack, (name) => /^KEYLESS_(KEYVAULT|BLOB)/.test(name), { AZURE_CLIENT_ID: unknown }),
      ['--json'],
    );
    expect(run.exitCode).toBe(1);
    expect(run.report?.ok).toBe(false);
    for (const resource of run.report?.resources ?? []) {
      expect(resource.status).toBe('fail');
      expect(resource.token.failure?.code).toBe('authentication-failed');
      expect(resource.token.failure?.cause).toContain(unknown);
      expect(resource.token.failure?.fix.join('\n')).toContain('AZURE_CLIENT_ID');
      expect(resource.token.failure?.fix.join('\n')).toContain('identity assign');
      expect(resource.probe.status).toBe('skip');
    }
    expect(run.report?.resources).toHaveLength(2);
  });

  it('Key Vault role missing: 403, and the role assignment line scoped to the vault', async () => {
    stack.keyVault?.removeRole(oid(), 'Key Vault Secrets User');
    try {
      const run = await runKeylessDoctor(
        stackEnvironment(stack, (name) => name.startsWith('KEYLESS_KEYVAULT'), {
          KEYLESS_DEMO_SECRET_NAME: 'demo-message',
        }),
        ['--json'],
      );
      expect(run.exitCode).toBe(1);
      const keyVault = resourceOf(run.report, 'keyvault');
      expect(keyVault.token.status).toBe('pass');
      expect(keyVault.probe.failure?.code).toBe('authorization');
      expect(keyVault.probe.failure?.cause).toContain('ForbiddenByRbac');
      expect(keyVault.probe.failure?.fix).toEqual([
        `assign the role "Key Vault Secrets User" on the vault: az role assignment create --assignee-object-id ${oid()} --assignee-principal-type ServicePrincipal --role "Key Vault Secrets User" --scope "$(az keyvault show --name <vault> --query id --output tsv)"`,
      ]);
      expect(keyVault.probe.failure?.notes.join('\n')).toContain('up to 10 minutes');
      expect(leaksIn(outputOf(run))).toEqual([]);
    } finally {
      stack.keyVault?.assignRole(oid(), 'Key Vault Secrets User');
    }
  });

  it('Storage role missing: 403 from the Blob front, and the role assignment line scoped to the container', async () => {
    stack.blob?.removeRole(oid());
    try {
      const run = await runKeylessDoctor(
        stackEnvironment(stack, (name) => name.startsWith('KEYLESS_BLOB'), {
          KEYLESS_DEMO_BLOB_CONTAINER: 'keyless-demo',
        }),
        ['--json'],
      );
      expect(run.exitCode).toBe(1);
      const blob = resourceOf(run.report, 'blob');
      expect(blob.probe.failure?.code).toBe('authorization');
      expect(blob.probe.failure?.cause).toContain('AuthorizationPermissionMismatch');
      expect(blob.probe.failure?.fix).toEqual([
        `assign the role "Storage Blob Data Reader" (read; "Storage Blob Data Contributor" to write as well) on the container keyless-demo: az role assignment create --assignee-object-id ${oid()} --assignee-principal-type ServicePrincipal --role "Storage Blob Data Reader" --scope "$(az storage account show --name devstoreaccount1 --query id --output tsv)/blobServices/default/containers/keyless-demo"`,
      ]);
      expect(blob.probe.failure?.notes.join('\n')).toContain('up to 10 minutes');
    } finally {
      stack.blob?.assignRole(oid(), 'Storage Blob Data Contributor');
    }
  });

  it('SQL principal missing: 18456, and CREATE USER … FROM EXTERNAL PROVIDER with the role line', async () => {
    stack.sql?.removePrincipal(oid());
    try {
      const run = await runKeylessDoctor(
        stackEnvironment(stack, (name) => name.startsWith('KEYLESS_SQL')),
        ['--json'],
      );
      expect(run.exitCode).toBe(1);
      const sql = resourceOf(run.report, 'sql');
      expect(sql.probe.failure?.code).toBe('authorization');
      expect(sql.probe.failure?.cause).toContain('18456');
      expect(sql.probe.failure?.fix[0]).toBe(
        `as the server's Entra admin, in the database ${stack.sql?.database}: CREATE USER [keyless-app] FROM EXTERNAL PROVIDER; ALTER ROLE db_datareader ADD MEMBER [keyless-app];`,
      );
      expect(sql.probe.failure?.fix[1]).toContain(`sqlcmd -S localhost -d ${stack.sql?.database}`);
    } finally {
      stack.sql?.addPrincipal({ name: stack.appIdentity.name, objectId: oid() });
    }
  });

  it('PostgreSQL role and Redis user missing (an identity granted nothing): pgaadauth_create_principal and the access-policy assignment', async () => {
    const fresh = {
      name: `doctor-${randomUUID().slice(0, 8)}`,
      clientId: randomUUID(),
      objectId: randomUUID(),
    };
    stack.identity.addUserAssignedIdentity(fresh);
    const run = await runKeylessDoctor(
      stackEnvironment(
        stack,
        (name) =>
          /^KEYLESS_(POSTGRES|REDIS)_/.test(name) &&
          !name.endsWith('_PASSWORD_SECRET') &&
          !name.endsWith('_USER'),
        {
          AZURE_CLIENT_ID: fresh.clientId,
          KEYLESS_POSTGRES_ENTRA_USER: fresh.name,
          KEYLESS_REDIS_ENTRA_USER: fresh.objectId,
        },
      ),
      ['--json'],
    );
    expect(run.exitCode).toBe(1);
    expect(run.report?.identity.objectId).toBe(fresh.objectId);
    const postgres = resourceOf(run.report, 'postgres', 'entra-token');
    expect(postgres.token.status).toBe('pass');
    expect(postgres.probe.failure?.code, JSON.stringify(postgres.probe.failure)).toBe(
      'authentication-failed',
    );
    expect(postgres.probe.failure?.fix[0]).toBe(
      `as the server's Entra admin, in the database postgres: select * from pgaadauth_create_principal('${fresh.name}', false, false);`,
    );
    const redis = resourceOf(run.report, 'redis', 'entra-token');
    expect(redis.probe.failure?.code, JSON.stringify(redis.probe.failure)).toBe('authentication-failed');
    expect(redis.probe.failure?.fix[0]).toContain(
      `az redis access-policy-assignment create --name <cache> --resource-group <group> --policy-assignment-name ${fresh.name} --access-policy-name "Data Contributor" --object-id ${fresh.objectId} --object-id-alias ${fresh.name}`,
    );
    expect(run.report?.resources).toHaveLength(2);
    expect(leaksIn(outputOf(run))).toEqual([]);
  });

  it('Redis user set to the client id instead of the object id: the fix says which id to use', async () => {
    const run = await runKeylessDoctor(
      stackEnvironment(stack, (name) => /^KEYLESS_REDIS_(HOST|PORT|TLS_PORT)$/.test(name), {
        KEYLESS_REDIS_ENTRA_USER: stack.appIdentity.clientId,
      }),
      ['--json'],
    );
    expect(run.exitCode).toBe(1);
    const redis = resourceOf(run.report, 'redis', 'entra-token');
    expect(redis.probe.failure?.notes[0]).toBe(
      `the Redis user is ${stack.appIdentity.clientId} but the identity's object id is ${oid()}: in Entra mode the user must be the object id (KEYLESS_REDIS_ENTRA_USER)`,
    );
  });
});
