import { randomUUID } from 'node:crypto';
import { deletedSecretNotFound, secretIsDeletedButRecoverable, secretNotFound } from './key-vault-errors.js';

export const recoverableDays = 90;
const secondsPerDay = 86_400;

export interface SecretAttributesInput {
  enabled?: boolean;
  notBefore?: number;
  expires?: number;
}

export interface SecretVersionInput {
  contentType?: string;
  tags?: Record<string, string>;
  attributes?: SecretAttributesInput;
}

/**
 * One version of a secret. The value lives in a private field, so `util.inspect`, `JSON.stringify`
 * and a debugger's object preview of anything holding a version never show it.
 */
export class SecretVersionRecord {
  readonly version: string;
  readonly created: number;
  updated: number;
  enabled: boolean;
  notBefore: number | undefined;
  expires: number | undefined;
  contentType: string | undefined;
  tags: Record<string, string> | undefined;
  readonly #value: string;

  constructor(value: string, input: SecretVersionInput, nowSeconds: number) {
    // Azure's version ids are 32 lower-case hex digits.
    this.version = randomUUID().replaceAll('-', '');
    this.#value = value;
    this.created = nowSeconds;
    this.updated = nowSeconds;
    this.enabled = input.attributes?.enabled ?? true;
    this.notBefore = input.attributes?.notBefore;
    this.expires = input.attributes?.expires;
    this.contentType = input.contentType;
    this.tags = input.tags;
  }

  get value(): string {
    return this.#value;
  }

  applyUpdate(input: SecretVersionInput, nowSeconds: number): void {
    // Members left out of the request stay as they were, as Azure's PATCH does.
    if (input.contentType !== undefined) this.contentType = input.contentType;
    if (input.tags !== undefined) this.tags = input.tags;
    const attributes = input.attributes ?? {};
    if (attributes.enabled !== undefined) this.enabled = attributes.enabled;
    if (attributes.notBefore !== undefined) this.notBefore = attributes.notBefore;
    if (attributes.expires !== undefined) this.expires = attributes.expires;
    this.updated = nowSeconds;
  }
}

export interface SecretDeletion {
  deletedDate: number;
  scheduledPurgeDate: number;
}

export class SecretRecord {
  /** As first set; lookups ignore case, as Key Vault's do. */
  readonly name: string;
  /** Oldest first. */
  readonly versions: SecretVersionRecord[] = [];
  deletion: SecretDeletion | undefined;

  constructor(name: string) {
    this.name = name;
  }

  get latest(): SecretVersionRecord {
    const latest = this.versions.at(-1);
    if (!latest) throw new Error(`secret ${this.name} has no versions`);
    return latest;
  }

  findVersion(version: string): SecretVersionRecord | undefined {
    const wanted = version.toLowerCase();
    return this.versions.find((candidate) => candidate.version === wanted);
  }
}

/** The vault's secrets with versions and soft delete; deletion and recovery take effect at once. */
export class SecretStore {
  readonly #secrets = new Map<string, SecretRecord>();
  readonly #everyValue: string[] = [];

  set(name: string, value: string, input: SecretVersionInput, nowSeconds: number): SecretVersionRecord {
    const key = name.toLowerCase();
    const existing = this.#secrets.get(key);
    if (existing?.deletion) throw secretIsDeletedButRecoverable(existing.name);
    const record = existing ?? new SecretRecord(name);
    const version = new SecretVersionRecord(value, input, nowSeconds);
    record.versions.push(version);
    this.#secrets.set(key, record);
    this.#everyValue.push(value);
    return version;
  }

  /** An active (not deleted) secret, or Azure's 404. */
  active(name: string): SecretRecord {
    const record = this.#secrets.get(name.toLowerCase());
    if (!record || record.deletion) throw secretNotFound(name);
    return record;
  }

  /** The named version of an active secret, or its latest when `version` is empty. */
  version(name: string, version: string | undefined): { record: SecretRecord; version: SecretVersionRecord } {
    const record = this.active(name);
    if (!version) return { record, version: record.latest };
    const found = record.findVersion(version);
    if (!found) throw secretNotFound(name, version);
    return { record, version: found };
  }

  /** Versions of an active secret; none for an unknown one, as Azure lists an empty page. */
  versionsOf(name: string): { record: SecretRecord | undefined; versions: readonly SecretVersionRecord[] } {
    const record = this.#secrets.get(name.toLowerCase());
    if (!record || record.deletion) return { record: undefined, versions: [] };
    return { record, versions: record.versions };
  }

  delete(name: string, nowSeconds: number): SecretRecord {
    const record = this.active(name);
    record.deletion = {
      deletedDate: nowSeconds,
      scheduledPurgeDate: nowSeconds + recoverableDays * secondsPerDay,
    };
    return record;
  }

  deleted(name: string): SecretRecord {
    const record = this.#secrets.get(name.toLowerCase());
    if (!record?.deletion) throw deletedSecretNotFound(name);
    return record;
  }

  recover(name: string): SecretRecord {
    const record = this.deleted(name);
    record.deletion = undefined;
    return record;
  }

  purge(name: string): void {
    const record = this.deleted(name);
    this.#secrets.delete(record.name.toLowerCase());
  }

  /** Sorted by name, ignoring case, so paging cursors stay stable. */
  listActive(): SecretRecord[] {
    return this.#sorted().filter((record) => !record.deletion);
  }

  listDeleted(): SecretRecord[] {
    return this.#sorted().filter((record) => record.deletion);
  }

  everyValue(): readonly string[] {
    return [...this.#everyValue];
  }

  #sorted(): SecretRecord[] {
    return [...this.#secrets.entries()]
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
      .map(([, record]) => record);
  }
}
