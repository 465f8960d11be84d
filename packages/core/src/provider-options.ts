import { ConfigurationError } from './errors.js';
import type { ManagedIdentitySelector } from './identity.js';
import { booleanSetting, matchingText, oneOf, type SettingSchema, wholeNumber } from './setting-schema.js';
import { type Environment, resolveSetting } from './settings.js';

/** The token backends keyless can use. */
export const tokenBackendNames = ['azure-identity', 'msal'] as const;
/** `azure-identity` or `msal`. */
export type TokenBackendName = (typeof tokenBackendNames)[number];

/** Options of `createTokenProvider()`; each falls back to the environment, then to a default. */
export interface TokenProviderOptions {
  /** `azure-identity` (default) or `msal`. Environment: KEYLESS_TOKEN_PROVIDER. */
  backend?: TokenBackendName;
  /**
   * A user-assigned identity, by exactly one of its ids. Omit for the system-assigned identity.
   * Environment: AZURE_CLIENT_ID or Managed_Identity_Client_ID (client id),
   * KEYLESS_MANAGED_IDENTITY_RESOURCE_ID, KEYLESS_MANAGED_IDENTITY_OBJECT_ID.
   */
  identity?: { clientId: string } | { resourceId: string } | { objectId: string } | 'system-assigned';
  /**
   * Use DefaultAzureCredential (developer sign-in: Azure CLI, VS Code, environment) instead of the
   * managed identity. For laptops; `azure-identity` backend only. Environment: KEYLESS_DEVELOPER_CREDENTIAL=true.
   */
  developerCredential?: boolean;
  /** Refresh this long before expiry at the latest. Default 5 minutes. */
  refreshBeforeExpiryMs?: number;
  /** A token closer than this to expiry is no longer handed out. Default 30 seconds. */
  expiryMarginMs?: number;
  /** Attempts per cold request for failures other than 410 (which is retried for at least 70 s). Default 4. */
  maxColdAttempts?: number;
  /** Cap on the delay between retries. Default 30 seconds. */
  maxRetryDelayMs?: number;
  /** Environment to read instead of process.env (tests, or embedding). */
  environment?: Environment;
}

export interface ResolvedProviderOptions {
  backend: TokenBackendName;
  identity: ManagedIdentitySelector;
  developerCredential: boolean;
  refreshBeforeExpiryMs: number;
  expiryMarginMs: number;
  maxColdAttempts: number;
  maxRetryDelayMs: number;
  environment: Environment;
}

const guid = matchingText(
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  'expected a GUID such as 00000000-0000-0000-0000-000000000000',
);
const armResourceId = matchingText(
  /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/]+$/i,
  'expected /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>',
);
const identityCandidates = [
  {
    by: 'client-id',
    option: 'identity.clientId',
    schema: guid,
    variables: ['AZURE_CLIENT_ID', 'Managed_Identity_Client_ID'],
  },
  {
    by: 'resource-id',
    option: 'identity.resourceId',
    schema: armResourceId,
    variables: ['KEYLESS_MANAGED_IDENTITY_RESOURCE_ID'],
  },
  {
    by: 'object-id',
    option: 'identity.objectId',
    schema: guid,
    variables: ['KEYLESS_MANAGED_IDENTITY_OBJECT_ID'],
  },
] as const;
const backendSchema = oneOf(tokenBackendNames);
const positiveMilliseconds = wholeNumber(0, 'expected a number of milliseconds');
const positiveCount = wholeNumber(1, 'expected a whole number');

export function resolveProviderOptions(options: TokenProviderOptions = {}): ResolvedProviderOptions {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('createTokenProvider(options) expects an options object or nothing');
  }
  const environment = options.environment ?? process.env;
  const backend =
    resolveSetting(backendSchema, {
      option: 'backend',
      value: options.backend,
      variables: ['KEYLESS_TOKEN_PROVIDER'],
      environment,
    }).value ?? 'azure-identity';
  const developerCredential =
    resolveSetting(booleanSetting, {
      option: 'developerCredential',
      value: options.developerCredential,
      variables: ['KEYLESS_DEVELOPER_CREDENTIAL'],
      environment,
    }).value ?? false;
  if (developerCredential && backend !== 'azure-identity') {
    throw new ConfigurationError(
      'developerCredential needs the azure-identity backend (MSAL has no developer sign-in chain)',
      {
        hint: 'set option `backend` or KEYLESS_TOKEN_PROVIDER to azure-identity, or turn developerCredential off',
      },
    );
  }
  const identity = resolveIdentity(options.identity, environment);
  const number = (option: keyof TokenProviderOptions, schema: SettingSchema<number>, fallback: number) =>
    resolveSetting(schema, { option, value: options[option] }).value ?? fallback;
  return {
    backend,
    identity,
    developerCredential,
    refreshBeforeExpiryMs: number('refreshBeforeExpiryMs', positiveMilliseconds, 5 * 60_000),
    expiryMarginMs: number('expiryMarginMs', positiveMilliseconds, 30_000),
    maxColdAttempts: number('maxColdAttempts', positiveCount, 4),
    maxRetryDelayMs: number('maxRetryDelayMs', positiveMilliseconds, 30_000),
    environment,
  };
}

function resolveIdentity(
  identity: TokenProviderOptions['identity'],
  environment: Environment,
): ManagedIdentitySelector {
  if (identity === 'system-assigned') return { kind: 'system-assigned' };
  if (identity !== undefined) {
    if (identity === null || typeof identity !== 'object') {
      throw new ConfigurationError(
        "Invalid option `identity`: expected 'system-assigned' or one of { clientId }, { resourceId }, { objectId }",
      );
    }
    const given = Object.entries(identity).filter(([, value]) => value !== undefined);
    if (given.length !== 1) {
      throw new ConfigurationError(
        `Invalid option \`identity\`: give exactly one of clientId, resourceId or objectId (got ${given.length === 0 ? 'none' : given.map(([key]) => key).join(' and ')})`,
      );
    }
    const [key, value] = given[0] as [string, unknown];
    const candidate = identityCandidates.find((entry) => entry.option === `identity.${key}`);
    if (candidate) {
      const resolved = resolveSetting(candidate.schema, {
        option: candidate.option,
        value,
        variables: candidate.variables,
        environment,
      });
      return { kind: 'user-assigned', by: candidate.by, value: resolved.value as string };
    }
    throw new ConfigurationError(
      `Invalid option \`identity\`: unknown key ${key}; expected clientId, resourceId or objectId`,
    );
  }
  const found: ManagedIdentitySelector[] = [];
  for (const candidate of identityCandidates) {
    const { value } = resolveSetting(candidate.schema, {
      option: candidate.option,
      value: undefined,
      variables: candidate.variables,
      environment,
    });
    if (value !== undefined) found.push({ kind: 'user-assigned', by: candidate.by, value });
  }
  if (found.length > 1) {
    throw new ConfigurationError(
      'More than one user-assigned identity is set in the environment (AZURE_CLIENT_ID / Managed_Identity_Client_ID, KEYLESS_MANAGED_IDENTITY_RESOURCE_ID, KEYLESS_MANAGED_IDENTITY_OBJECT_ID)',
      { hint: 'keep exactly one, or pass option `identity`' },
    );
  }
  return found[0] ?? { kind: 'system-assigned' };
}
