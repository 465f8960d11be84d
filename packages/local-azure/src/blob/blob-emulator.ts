import type { IdentityEndpoint } from '../identity/identity-types.js';
import { loopbackHost } from '../processes/free-port.js';
import { type AzuriteInstance, startAzurite } from './azurite-launcher.js';
import { startBlobFront } from './blob-front.js';
import { type BlobRoleAssignment, BlobRoleAssignments } from './blob-role-assignments.js';
import type { BlobDataRole } from './blob-roles.js';

/** Options of `startBlobEmulator()`. */
export interface BlobEmulatorOptions {
  /** Tokens are verified with the identity endpoint's keys, issuer and clock. */
  identity: Pick<IdentityEndpoint, 'verifyToken' | 'tenantId'>;
  /** The local CA's server certificate and key, as files (for Azurite) and PEM (for the front), and the CA. */
  tls: { certPath: string; keyPath: string; cert: string; key: string; ca: string };
  /** Who may do what; principalId is the token's `oid`. Default: nobody. */
  roleAssignments?: readonly BlobRoleAssignment[];
  /** The front's port. Default: a free loopback port. */
  port?: number;
}

/** Blob Storage for the local stack: Azurite behind a front that checks what Azure Storage checks. */
export interface BlobEmulator {
  /** Azurite's well-known development account. */
  readonly accountName: 'devstoreaccount1';
  /** `https://127.0.0.1:<port>/devstoreaccount1`, the front: what `BlobServiceClient` takes. */
  readonly blobEndpoint: string;
  /** The front's HTTPS port (loopback). */
  readonly port: number;
  /** Azurite's process id and working folder, so callers can check that stop() left nothing. */
  readonly pid: number | undefined;
  readonly workingFolder: string;
  /** Azurite itself, behind the front (its own checks only: no signatures, no roles). */
  readonly azurite: AzuriteInstance;
  /**
   * Grants `role` to the principal (the token's `oid`) on the account, or on one container with
   * `{ container }`, as `az role assignment create --scope` does. Takes effect at once.
   */
  assignRole(principalId: string, role: BlobDataRole, options?: { container?: string }): void;
  /**
   * Removes the principal's assignment of `role` at that scope (the account without `container`);
   * without `role`, every assignment of the principal (at that container only, when given).
   */
  removeRole(principalId: string, role?: BlobDataRole, options?: { container?: string }): void;
  /** The assignments now in force. */
  roleAssignments(): readonly BlobRoleAssignment[];
  /** Stops the front and Azurite, and removes Azurite's working folder; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts Azurite and the verifying front before it. Azurite is an optional peer dependency:
 * without it this throws `MissingPackageError` before anything starts.
 */
export async function startBlobEmulator(options: BlobEmulatorOptions): Promise<BlobEmulator> {
  const roles = new BlobRoleAssignments(options.roleAssignments ?? []);
  const azurite = await startAzurite({
    tls: { certPath: options.tls.certPath, keyPath: options.tls.keyPath },
  });
  let front: Awaited<ReturnType<typeof startBlobFront>>;
  try {
    front = await startBlobFront({
      identity: options.identity,
      tls: { cert: options.tls.cert, key: options.tls.key },
      upstream: { port: azurite.port, ca: options.tls.ca },
      accountName: azurite.accountName,
      roles,
      ...(options.port === undefined ? {} : { port: options.port }),
    });
  } catch (error) {
    await azurite.stop();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    accountName: azurite.accountName,
    blobEndpoint: `https://${loopbackHost}:${front.port}/${azurite.accountName}`,
    port: front.port,
    pid: azurite.pid,
    workingFolder: azurite.workingFolder,
    azurite,
    assignRole: (principalId, role, scope = {}) =>
      roles.assign({
        principalId,
        role,
        ...(scope.container === undefined ? {} : { container: scope.container }),
      }),
    removeRole: (principalId, role, scope = {}) => roles.remove(principalId, role, scope),
    roleAssignments: () => roles.list(),
    stop() {
      stopped ??= (async () => {
        await front.stop();
        await azurite.stop();
      })();
      return stopped;
    },
  };
}
