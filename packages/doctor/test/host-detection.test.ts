import { describe, expect, it } from 'vitest';
import { detectHost } from '../src/host-detection.js';

/** Host kinds from the variables each Azure host injects (no request: IMDS is never reached here). */
describe('host detection', () => {
  // Port 9 (discard) on loopback: nothing listens, so "IMDS" never answers.
  const options = {
    developerCredential: false,
    imdsTimeoutMs: 2_000,
    imdsUrl: 'http://127.0.0.1:9/metadata/instance',
  };

  it.each([
    [
      'AKS workload identity',
      {
        AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
        AZURE_CLIENT_ID: 'c',
        AZURE_TENANT_ID: 't',
        AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/',
        IDENTITY_ENDPOINT: 'http://ignored',
      },
      'aks-workload-identity',
      ['AZURE_FEDERATED_TOKEN_FILE', 'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_AUTHORITY_HOST'],
    ],
    [
      'App Service',
      { IDENTITY_ENDPOINT: 'http://127.0.0.1:41000/msi/token', IDENTITY_HEADER: 'h' },
      'app-service',
      ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER'],
    ],
    [
      'Azure Arc',
      {
        IDENTITY_ENDPOINT: 'http://localhost:40342/metadata/identity/oauth2/token',
        IMDS_ENDPOINT: 'http://localhost:40342',
      },
      'azure-arc',
      ['IDENTITY_ENDPOINT', 'IMDS_ENDPOINT'],
    ],
    [
      'IMDS elsewhere',
      { AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:41001' },
      'imds',
      ['AZURE_POD_IDENTITY_AUTHORITY_HOST'],
    ],
    ['nothing', {}, 'none', []],
  ])('%s', async (_name, environment, kind, variables) => {
    const detected = await detectHost(environment, options);
    expect(detected.report.kind).toBe(kind);
    expect(detected.report.variables).toEqual(variables);
  });

  it('workload identity without its tenant fails and says what the webhook injects', async () => {
    const detected = await detectHost(
      { AZURE_FEDERATED_TOKEN_FILE: '/token', AZURE_CLIENT_ID: 'c' },
      options,
    );
    expect(detected.report.status).toBe('fail');
    expect(detected.report.failure?.cause).toContain('AZURE_TENANT_ID');
    expect(detected.report.failure?.fix.join()).toContain('azure.workload.identity/use');
  });

  it('the clock is read from the identity endpoint, or the authority for workload identity', async () => {
    expect(
      (await detectHost({ IDENTITY_ENDPOINT: 'http://a/msi/token', IDENTITY_HEADER: 'h' }, options)).clockUrl,
    ).toBe('http://a/msi/token');
    const aks = await detectHost(
      { AZURE_FEDERATED_TOKEN_FILE: '/t', AZURE_CLIENT_ID: 'c', AZURE_TENANT_ID: 'tenant' },
      options,
    );
    expect(aks.clockUrl).toBe(
      'https://login.microsoftonline.com/tenant/v2.0/.well-known/openid-configuration',
    );
  });
});
