import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientAssertionForm,
  startWorkloadIdentityStack,
  type WorkloadIdentityStack,
} from './support/workload-identity-stack.js';

let stack: WorkloadIdentityStack;
let appClientId: string;

beforeAll(async () => {
  stack = await startWorkloadIdentityStack();
  appClientId = stack.identity.userAssigned[0]?.clientId ?? '';
});

afterAll(async () => {
  await stack?.stop();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON members.
type Json = any;

async function getJson(url: string): Promise<Json> {
  return (await fetch(url)).json();
}

async function postToken(
  form: URLSearchParams,
  tenant = stack.identity.tenantId,
): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${stack.workload.authorityHost}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  return { status: response.status, body: await response.json() };
}

function expectAadsts(
  answer: { status: number; body: Record<string, unknown> },
  status: number,
  error: string,
  code: number,
) {
  expect(answer.status).toBe(status);
  expect(answer.body).toMatchObject({ error, error_codes: [code] });
  expect(answer.body.error_description).toMatch(
    new RegExp(
      `^AADSTS${code}: .*\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`,
      's',
    ),
  );
  expect(answer.body.trace_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(answer.body.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(answer.body.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  expect(answer.body).not.toHaveProperty('access_token');
}

describe('the local Entra token endpoint (workload identity)', () => {
  it('exchanges the projected token for an access token in Entra’s answer shape', async () => {
    const assertion = await readFile(stack.workload.tokenFilePath, 'utf8');
    const answer = await postToken(clientAssertionForm({ clientId: appClientId, assertion }));
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual([
      'access_token',
      'expires_in',
      'ext_expires_in',
      'token_type',
    ]);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 86_400, ext_expires_in: 86_400 });
    const claims = await stack.identity.verifyToken(answer.body.access_token, {
      audience: 'https://vault.azure.net',
    });
    expect(claims.iss).toBe(stack.identity.issuer);
  });

  it('refuses a wrong audience with AADSTS70021 naming issuer, subject and audience', async () => {
    const assertion = await stack.workload.serviceAccountToken({ audience: 'api://SomethingElse' });
    const answer = await postToken(clientAssertionForm({ clientId: appClientId, assertion }));
    expectAadsts(answer, 400, 'invalid_request', 70021);
    expect(answer.body.error_description).toContain(`Assertion Issuer: '${stack.workload.clusterIssuer}'`);
    expect(answer.body.error_description).toContain("Assertion Audience: 'api://SomethingElse'");
  });

  it('refuses a wrong subject with AADSTS70021', async () => {
    const assertion = await stack.workload.serviceAccountToken({ namespace: 'other' });
    const answer = await postToken(clientAssertionForm({ clientId: appClientId, assertion }));
    expectAadsts(answer, 400, 'invalid_request', 70021);
    expect(answer.body.error_description).toContain(
      "Assertion Subject: 'system:serviceaccount:other:keyless-app'",
    );
  });

  it('refuses an expired assertion with AADSTS700024 (invalid_client, 401)', async () => {
    const assertion = await stack.workload.serviceAccountToken({
      issuedAtMilliseconds: Date.now() - 2 * 3_600_000,
      lifetimeSeconds: 3600,
    });
    const answer = await postToken(clientAssertionForm({ clientId: appClientId, assertion }));
    expectAadsts(answer, 401, 'invalid_client', 700024);
  });

  it('refuses an unknown client id with AADSTS700016', async () => {
    const assertion = await readFile(stack.workload.tokenFilePath, 'utf8');
    const answer = await postToken(
      clientAssertionForm({ clientId: '99999999-9999-4999-8999-999999999999', assertion }),
    );
    expectAadsts(answer, 400, 'unauthorized_client', 700016);
    expect(answer.body.error_description).toContain(
      "Application with identifier '99999999-9999-4999-8999-999999999999'",
    );
  });

  it('refuses an identity without a federated credential for the issuer with AADSTS700211', async () => {
    const other = '6b65796c-6573-4000-8000-0000000000aa';
    stack.identity.addUserAssignedIdentity({
      name: 'no-federation',
      clientId: other,
      objectId: '6b65796c-6573-4000-8000-0000000000ab',
    });
    const assertion = await readFile(stack.workload.tokenFilePath, 'utf8');
    expectAadsts(
      await postToken(clientAssertionForm({ clientId: other, assertion })),
      400,
      'invalid_request',
      700211,
    );
    // Adding the federated credential is the fix the error points to.
    stack.workload.addFederatedCredential(other, {
      name: 'aks',
      issuer: stack.workload.clusterIssuer,
      subject: stack.workload.subject,
    });
    expect((await postToken(clientAssertionForm({ clientId: other, assertion }))).status).toBe(200);
  });

  it('refuses a token not signed by the cluster issuer, garbage, a wrong tenant, grant or scope', async () => {
    const assertion = await readFile(stack.workload.tokenFilePath, 'utf8');
    const [header, payload] = assertion.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    expectAadsts(
      await postToken(clientAssertionForm({ clientId: appClientId, assertion: forged })),
      401,
      'invalid_client',
      700027,
    );
    expectAadsts(
      await postToken(clientAssertionForm({ clientId: appClientId, assertion: 'not-a-jwt' })),
      400,
      'invalid_request',
      50027,
    );
    expectAadsts(
      await postToken(
        clientAssertionForm({ clientId: appClientId, assertion }),
        '11111111-1111-4111-8111-111111111111',
      ),
      400,
      'invalid_request',
      90002,
    );
    expectAadsts(
      await postToken(clientAssertionForm({ clientId: appClientId, assertion, grantType: 'password' })),
      400,
      'unsupported_grant_type',
      70003,
    );
    expectAadsts(
      await postToken(
        clientAssertionForm({ clientId: appClientId, assertion, scope: 'https://vault.azure.net/read' }),
      ),
      400,
      'invalid_scope',
      1002012,
    );
    const missing = clientAssertionForm({ clientId: appClientId, assertion });
    missing.delete('client_assertion');
    expectAadsts(await postToken(missing), 401, 'invalid_client', 7000218);
  });

  it('serves OIDC discovery for the tenant and for the cluster issuer', async () => {
    const tenant = stack.identity.tenantId;
    const configuration = await getJson(
      `${stack.workload.authorityHost}/${tenant}/v2.0/.well-known/openid-configuration`,
    );
    expect(configuration).toMatchObject({
      issuer: `${stack.workload.authorityHost}/${tenant}/v2.0`,
      token_endpoint: `${stack.workload.authorityHost}/${tenant}/oauth2/v2.0/token`,
      jwks_uri: `${stack.workload.authorityHost}/${tenant}/discovery/v2.0/keys`,
    });
    expect(await getJson(configuration.jwks_uri)).toEqual(stack.identity.jwks());
    const cluster = await getJson(`${stack.workload.clusterIssuer}.well-known/openid-configuration`);
    expect(cluster.issuer).toBe(stack.workload.clusterIssuer);
    const keys = await getJson(cluster.jwks_uri);
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0]).not.toHaveProperty('d');
  });

  it('answers a GET to the token endpoint with AADSTS900561, and counts token requests and faults like the other protocols', async () => {
    const response = await fetch(
      `${stack.workload.authorityHost}/${stack.identity.tenantId}/oauth2/v2.0/token`,
    );
    expect(response.status).toBe(405);
    expect(((await response.json()) as Json).error_codes).toEqual([900561]);
    const assertion = await readFile(stack.workload.tokenFilePath, 'utf8');
    stack.identity.faults.throttle({ count: 1, retryAfterSeconds: 7 });
    const before = stack.identity.counters.byResource('https://counted.example');
    const throttled = await fetch(
      `${stack.workload.authorityHost}/${stack.identity.tenantId}/oauth2/v2.0/token`,
      {
        method: 'POST',
        body: clientAssertionForm({
          clientId: appClientId,
          assertion,
          scope: 'https://counted.example/.default',
        }),
      },
    );
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(stack.identity.counters.byResource('https://counted.example') - before).toBe(1);
  });

  it('rewrites the token file on rotation, and remembers every service-account token for canary scans', async () => {
    const first = await readFile(stack.workload.tokenFilePath, 'utf8');
    const writes = stack.workload.tokenFileWrites;
    await stack.workload.rotateTokenFile();
    const second = await readFile(stack.workload.tokenFilePath, 'utf8');
    // Each token has a jti of its own, so even one minted in the same second differs.
    expect(second).not.toBe(first);
    expect(stack.workload.tokenFileWrites).toBe(writes + 1);
    expect(stack.identity.issuedTokens()).toEqual(expect.arrayContaining([first, second]));
  });
});

describe('the projected token file', () => {
  it('is rewritten by itself at 80% of the token lifetime, as the kubelet does', async () => {
    const shortLived = await startWorkloadIdentityStack({ serviceAccountTokenLifetimeSeconds: 2 });
    try {
      const first = await readFile(shortLived.workload.tokenFilePath, 'utf8');
      // 2 s lifetime → rewritten after 1.6 s; the bound is generous for a loaded machine.
      const deadline = Date.now() + 30_000;
      while (shortLived.workload.tokenFileWrites < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(shortLived.workload.tokenFileWrites).toBeGreaterThanOrEqual(2);
      expect(await readFile(shortLived.workload.tokenFilePath, 'utf8')).not.toBe(first);
    } finally {
      await shortLived.stop();
    }
  });
});
