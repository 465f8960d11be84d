import { randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import {
  defaultSystemAssignedIdentity,
  defaultTenantId,
  defaultUserAssignedIdentity,
} from './default-identities.js';
import type {
  IdentityEndpointOptions,
  ManagedIdentityDefinition,
  SystemAssignedIdentityDefinition,
  WorkloadIdentityOptions,
} from './identity-types.js';
import { assertLoopbackHost } from './loopback-host.js';

export interface ResolvedEndpointOptions {
  host: string;
  port: number;
  tenantId: string;
  systemAssigned: SystemAssignedIdentityDefinition | undefined;
  userAssigned: readonly ManagedIdentityDefinition[];
  tokenLifetimeSeconds: number;
  identityHeader: string;
  now: () => number;
  signingKey: JWK | undefined;
  workloadIdentity: WorkloadIdentityOptions | undefined;
}

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Visible ASCII only: the value travels as an HTTP header.
const headerValuePattern = /^[\x21-\x7e]+$/;

export function resolveEndpointOptions(options: IdentityEndpointOptions): ResolvedEndpointOptions {
  const host = options.host ?? '127.0.0.1';
  assertLoopbackHost(host);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`identity endpoint: port must be an integer from 0 to 65535, got ${port}`);
  }
  const tenantId = options.tenantId ?? defaultTenantId;
  if (!guidPattern.test(tenantId)) {
    throw new TypeError(`identity endpoint: tenantId must be a GUID, got '${tenantId}'`);
  }
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 86_400;
  assertTokenLifetime(tokenLifetimeSeconds);
  const identityHeader = options.identityHeader ?? randomUUID();
  if (!headerValuePattern.test(identityHeader)) {
    throw new TypeError('identity endpoint: identityHeader must be non-empty visible ASCII without spaces');
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError('identity endpoint: now must be a function returning milliseconds');
  }
  return {
    host,
    port,
    tenantId,
    systemAssigned:
      options.systemAssigned === false
        ? undefined
        : (options.systemAssigned ?? defaultSystemAssignedIdentity),
    userAssigned: options.userAssigned ?? [defaultUserAssignedIdentity],
    tokenLifetimeSeconds,
    identityHeader,
    now: options.now ?? Date.now,
    signingKey: options.signingKey,
    workloadIdentity: options.workloadIdentity,
  };
}

export function assertTokenLifetime(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new RangeError(
      `identity endpoint: token lifetime must be a whole number of seconds >= 1, got ${seconds}`,
    );
  }
}
