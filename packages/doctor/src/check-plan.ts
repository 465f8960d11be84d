import type { DoctorConfiguration } from './doctor-configuration.js';
import type { DoctorFailure, DoctorResourceKind, ProbeReport } from './doctor-report.js';
import type { FixContext } from './failure-fixes.js';
import {
  type ProbeOptions,
  probeBlob,
  probeKeyVault,
  probePostgres,
  probeRedis,
  probeSql,
} from './probes/resource-probes.js';
import { keyVaultScope, resourceScopes } from './resource-scopes.js';

/** One resource to check: what it is, which token it needs, and how to probe it. */
export interface PlannedCheck {
  resource: DoctorResourceKind;
  mode?: 'entra-token' | 'key-vault-secret';
  target: string;
  scope: string;
  operation: string;
  fixTarget: FixContext['target'];
  probe: (options: ProbeOptions) => Promise<ProbeReport>;
}

/** The resources the configuration names, in a fixed order; half-configured ones become problems. */
export function planChecks(configuration: DoctorConfiguration, problems: DoctorFailure[]): PlannedCheck[] {
  const plan: PlannedCheck[] = [];
  const vaultUrl = configuration.keyVault?.vaultUrl;
  const { keyVault, blob, sql, postgres, redis } = configuration;
  if (keyVault) {
    plan.push({
      resource: 'keyvault',
      target: keyVault.vaultUrl,
      scope: keyVaultScope(keyVault.vaultUrl),
      operation: keyVault.secretName ? `Get Secret ${keyVault.secretName}` : 'List Secrets (one)',
      fixTarget: {
        vaultUrl: keyVault.vaultUrl,
        ...(keyVault.secretName ? { secretName: keyVault.secretName } : {}),
      },
      probe: (options) => probeKeyVault(keyVault, options),
    });
  }
  if (blob) {
    plan.push({
      resource: 'blob',
      target: blob.container ? `${blob.accountUrl.replace(/\/+$/, '')}/${blob.container}` : blob.accountUrl,
      scope: resourceScopes.blob,
      operation: blob.container ? `Get Container Properties ${blob.container}` : 'List Containers (one)',
      fixTarget: { accountUrl: blob.accountUrl, ...(blob.container ? { container: blob.container } : {}) },
      probe: (options) => probeBlob(blob, options),
    });
  }
  if (sql) {
    plan.push({
      resource: 'sql',
      target: `${sql.server}:${sql.port ?? 1433}/${sql.database ?? '(default database)'}`,
      scope: resourceScopes.sql,
      operation: 'SELECT 1',
      fixTarget: {
        server: sql.server,
        ...(sql.port === undefined ? {} : { port: sql.port }),
        ...(sql.database === undefined ? {} : { database: sql.database }),
      },
      probe: (options) => probeSql(sql, options),
    });
  }
  for (const [resource, settings] of [
    ['postgres', postgres],
    ['redis', redis],
  ] as const) {
    if (!settings) continue;
    const modes: Array<'entra-token' | 'key-vault-secret'> = [];
    if (settings.entraUser) modes.push('entra-token');
    if (settings.passwordSecret) modes.push('key-vault-secret');
    const prefix = resource === 'postgres' ? 'KEYLESS_POSTGRES' : 'KEYLESS_REDIS';
    if (modes.length === 0) {
      problems.push({
        code: 'configuration',
        cause: `${prefix}_HOST is set but neither ${prefix}_ENTRA_USER (Entra mode) nor ${prefix}_PASSWORD_SECRET (password in Key Vault) is`,
        fix: [
          `set ${prefix}_ENTRA_USER or ${prefix}_PASSWORD_SECRET (or ${resource}.entraUser / ${resource}.passwordSecret in the options file)`,
        ],
        notes: [],
      });
      continue;
    }
    for (const mode of modes) {
      const user = mode === 'entra-token' ? settings.entraUser : settings.user;
      const port =
        resource === 'redis'
          ? ((settings as { tlsPort?: number }).tlsPort ?? settings.port ?? 6380)
          : (settings.port ?? 5432);
      const database = resource === 'postgres' ? (settings as { database?: string }).database : undefined;
      plan.push({
        resource,
        mode,
        target: `${settings.host}:${port}${database ? `/${database}` : ''}${user ? ` as ${user}` : ''}`,
        // Secret mode reads the password with a Key Vault token; Entra mode logs in with the resource's.
        scope: mode === 'entra-token' ? resourceScopes[resource] : keyVaultScope(vaultUrl ?? ''),
        operation: resource === 'postgres' ? 'SELECT 1' : 'PING',
        fixTarget: {
          host: settings.host,
          port,
          ...(database ? { database } : {}),
          ...(user ? { user } : {}),
          ...(mode === 'key-vault-secret' && settings.passwordSecret
            ? { secretName: settings.passwordSecret }
            : {}),
          ...(vaultUrl ? { vaultUrl } : {}),
        },
        probe: (options) =>
          resource === 'postgres'
            ? probePostgres(settings as NonNullable<DoctorConfiguration['postgres']>, mode, vaultUrl, options)
            : probeRedis(settings as NonNullable<DoctorConfiguration['redis']>, mode, vaultUrl, options),
      });
    }
  }
  return plan;
}
