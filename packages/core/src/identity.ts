/** Which managed identity tokens are requested for. */
export type ManagedIdentitySelector =
  | { kind: 'system-assigned' }
  | { kind: 'user-assigned'; by: 'client-id' | 'resource-id' | 'object-id'; value: string };

/** A stable, printable description of an identity (ids are not secrets). */
export function describeIdentity(identity: ManagedIdentitySelector): string {
  if (identity.kind === 'system-assigned') return 'system-assigned';
  return `user-assigned ${identity.by} ${identity.value}`;
}
