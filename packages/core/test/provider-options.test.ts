import { describe, expect, it } from 'vitest';
import { createTokenProvider } from '../src/index.js';
import { resolveProviderOptions } from '../src/provider-options.js';
import { configurationError } from './support/configuration-error.js';

const clientId = '11111111-2222-3333-4444-555555555555';
const resourceId =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/keyless-app';

describe('provider configuration', () => {
  it('defaults to azure-identity and the system-assigned identity', () => {
    const resolved = resolveProviderOptions({ environment: {} });
    expect(resolved.backend).toBe('azure-identity');
    expect(resolved.identity).toEqual({ kind: 'system-assigned' });
  });

  it('reads the backend and identity from the environment', () => {
    const resolved = resolveProviderOptions({
      environment: { KEYLESS_TOKEN_PROVIDER: 'msal', AZURE_CLIENT_ID: clientId },
    });
    expect(resolved.backend).toBe('msal');
    expect(resolved.identity).toEqual({ kind: 'user-assigned', by: 'client-id', value: clientId });
  });

  it('accepts Managed_Identity_Client_ID and the resource/object id variables', () => {
    expect(
      resolveProviderOptions({ environment: { Managed_Identity_Client_ID: clientId } }).identity,
    ).toMatchObject({
      by: 'client-id',
    });
    expect(
      resolveProviderOptions({ environment: { KEYLESS_MANAGED_IDENTITY_RESOURCE_ID: resourceId } }).identity,
    ).toMatchObject({ by: 'resource-id', value: resourceId });
    expect(
      resolveProviderOptions({ environment: { KEYLESS_MANAGED_IDENTITY_OBJECT_ID: clientId } }).identity,
    ).toMatchObject({ by: 'object-id' });
  });

  it('lets options win over the environment', () => {
    const resolved = resolveProviderOptions({
      backend: 'azure-identity',
      identity: { resourceId },
      environment: { KEYLESS_TOKEN_PROVIDER: 'msal', AZURE_CLIENT_ID: clientId },
    });
    expect(resolved.backend).toBe('azure-identity');
    expect(resolved.identity).toMatchObject({ by: 'resource-id' });
  });

  it('names the variable and the option when the environment holds a bad backend', () => {
    const error = configurationError(() =>
      createTokenProvider({ environment: { KEYLESS_TOKEN_PROVIDER: 'adal' } }),
    );
    expect(error.code).toBe('configuration');
    expect(error.message).toContain('KEYLESS_TOKEN_PROVIDER');
    expect(error.message).toContain('`backend`');
    expect(error.message).toContain('azure-identity, msal');
  });

  it('names the option and the variable when the option holds a bad client id', () => {
    const error = configurationError(() =>
      createTokenProvider({ identity: { clientId: 'not-a-guid' }, environment: {} }),
    );
    expect(error.message).toContain('identity.clientId');
    expect(error.message).toContain('AZURE_CLIENT_ID');
    expect(error.message).toContain('GUID');
  });

  it('rejects a malformed AZURE_CLIENT_ID at construction', () => {
    const error = configurationError(() => createTokenProvider({ environment: { AZURE_CLIENT_ID: 'abc' } }));
    expect(error.message).toContain('environment variable AZURE_CLIENT_ID');
  });

  it('rejects two identity selectors and an unknown one', () => {
    expect(
      configurationError(() =>
        resolveProviderOptions({ identity: { clientId, objectId: clientId } as never, environment: {} }),
      ).message,
    ).toContain('exactly one');
    expect(
      configurationError(() => resolveProviderOptions({ identity: { name: 'x' } as never, environment: {} }))
        .message,
    ).toContain('unknown key name');
    expect(
      configurationError(() =>
        resolveProviderOptions({
          environment: { AZURE_CLIENT_ID: clientId, KEYLESS_MANAGED_IDENTITY_OBJECT_ID: clientId },
        }),
      ).message,
    ).toContain('More than one');
  });

  it('rejects a malformed resource id with the expected shape', () => {
    expect(
      configurationError(() =>
        resolveProviderOptions({ identity: { resourceId: '/subscriptions/x' }, environment: {} }),
      ).message,
    ).toContain('userAssignedIdentities');
  });

  it('refuses developerCredential with the msal backend', () => {
    const error = configurationError(() =>
      resolveProviderOptions({ backend: 'msal', developerCredential: true, environment: {} }),
    );
    expect(error.message).toContain('KEYLESS_TOKEN_PROVIDER');
    expect(
      configurationError(() =>
        resolveProviderOptions({ environment: { KEYLESS_DEVELOPER_CREDENTIAL: 'yes' } }),
      ).message,
    ).toContain('KEYLESS_DEVELOPER_CREDENTIAL');
  });

  it('refuses a half-configured AKS workload identity at construction, naming what is missing', () => {
    expect(
      configurationError(() =>
        createTokenProvider({
          backend: 'msal',
          environment: { AZURE_FEDERATED_TOKEN_FILE: '/var/run/token' },
        }),
      ).message,
    ).toContain('workload identity (AZURE_FEDERATED_TOKEN_FILE is set) needs AZURE_TENANT_ID');
  });

  it('validates numeric tuning options', () => {
    expect(
      configurationError(() => resolveProviderOptions({ refreshBeforeExpiryMs: -1, environment: {} }))
        .message,
    ).toContain('refreshBeforeExpiryMs');
    expect(
      configurationError(() => resolveProviderOptions({ maxColdAttempts: 0, environment: {} })).message,
    ).toContain('maxColdAttempts');
  });

  it('rejects a non-object options argument', () => {
    configurationError(() => createTokenProvider('msal' as never));
  });
});
