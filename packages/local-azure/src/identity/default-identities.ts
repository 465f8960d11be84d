import type { ManagedIdentityDefinition, SystemAssignedIdentityDefinition } from './identity-types.js';

// Fixed rather than random: a `.env` written by one run keeps naming the same identities in the next.
// The trailing hex spells "keyless" so nobody mistakes them for real Azure ids.
export const defaultTenantId = '6b65796c-6573-4000-8000-000000000001';
export const defaultSubscriptionId = '6b65796c-6573-4000-8000-000000000002';
export const defaultResourceGroup = 'keyless-local';

export const defaultSystemAssignedIdentity: SystemAssignedIdentityDefinition = {
  name: 'keyless-system',
  clientId: '6b65796c-6573-4000-8000-000000000003',
  objectId: '6b65796c-6573-4000-8000-000000000004',
};

export const defaultUserAssignedIdentity: ManagedIdentityDefinition = {
  name: 'keyless-app',
  clientId: '6b65796c-6573-4000-8000-000000000005',
  objectId: '6b65796c-6573-4000-8000-000000000006',
  resourceId: userAssignedResourceId('keyless-app'),
};

export function userAssignedResourceId(name: string): string {
  return `/subscriptions/${defaultSubscriptionId}/resourceGroups/${defaultResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}
