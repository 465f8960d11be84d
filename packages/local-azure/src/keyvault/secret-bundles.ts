import { recoverableDays, type SecretRecord, type SecretVersionRecord } from './secret-store.js';

/**
 * The JSON Key Vault sends, member for member: optional members are left out rather than sent as
 * null, times are unix seconds, and ids are `<vault>/secrets/<name>[/<version>]` — the SDK derives
 * the name, version and vault URL from them.
 */

export function secretBundle(
  vaultBase: string,
  record: SecretRecord,
  version: SecretVersionRecord,
  options: { includeValue: boolean },
): object {
  return {
    ...(options.includeValue ? { value: version.value } : {}),
    ...optional('contentType', version.contentType),
    id: `${vaultBase}/secrets/${record.name}/${version.version}`,
    attributes: attributes(version),
    ...optional('tags', version.tags),
  };
}

/** An entry of the secrets list: the secret's id without a version, and its latest version's metadata. */
export function secretItem(vaultBase: string, record: SecretRecord): object {
  const latest = record.latest;
  return {
    ...optional('contentType', latest.contentType),
    id: `${vaultBase}/secrets/${record.name}`,
    attributes: attributes(latest),
    ...optional('tags', latest.tags),
  };
}

export function secretVersionItem(
  vaultBase: string,
  record: SecretRecord,
  version: SecretVersionRecord,
): object {
  return {
    ...optional('contentType', version.contentType),
    id: `${vaultBase}/secrets/${record.name}/${version.version}`,
    attributes: attributes(version),
    ...optional('tags', version.tags),
  };
}

/** Deleted secrets never carry their value. */
export function deletedSecretBundle(vaultBase: string, record: SecretRecord): object {
  return {
    ...deletionMembers(vaultBase, record),
    ...secretBundle(vaultBase, record, record.latest, { includeValue: false }),
  };
}

export function deletedSecretItem(vaultBase: string, record: SecretRecord): object {
  return { ...deletionMembers(vaultBase, record), ...secretItem(vaultBase, record) };
}

function deletionMembers(vaultBase: string, record: SecretRecord): object {
  return {
    recoveryId: `${vaultBase}/deletedsecrets/${record.name}`,
    deletedDate: record.deletion?.deletedDate,
    scheduledPurgeDate: record.deletion?.scheduledPurgeDate,
  };
}

function attributes(version: SecretVersionRecord): object {
  return {
    enabled: version.enabled,
    ...optional('nbf', version.notBefore),
    ...optional('exp', version.expires),
    created: version.created,
    updated: version.updated,
    recoveryLevel: 'Recoverable+Purgeable',
    recoverableDays,
  };
}

function optional(name: string, value: unknown): object {
  return value === undefined ? {} : { [name]: value };
}
