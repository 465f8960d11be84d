import { badParameter, KeyVaultError, secretDisabled } from './key-vault-errors.js';
import type { KeyVaultOperation } from './key-vault-types.js';
import { nextLink, readPageRequest, takePage } from './list-paging.js';
import {
  deletedSecretBundle,
  deletedSecretItem,
  secretBundle,
  secretItem,
  secretVersionItem,
} from './secret-bundles.js';
import { assertSecretName, readSetParameters, readUpdateParameters } from './secret-parameters.js';
import type { SecretRecord, SecretStore } from './secret-store.js';

export interface OperationRequest {
  operation: KeyVaultOperation;
  secretName: string | undefined;
  version: string | undefined;
  query: ReadonlyMap<string, string>;
  apiVersion: string;
  /** Read only for operations that take one, after authorization. */
  readBody: () => Promise<Record<string, unknown>>;
}

export interface OperationContext {
  store: SecretStore;
  /** The vault URL without its trailing slash: the prefix of every id. */
  vaultBase: string;
  nowSeconds: () => number;
}

export interface OperationAnswer {
  status: number;
  body?: object;
}

/** Carries out one authorized data-plane operation, throwing `KeyVaultError` as Azure would answer. */
export async function runOperation(
  context: OperationContext,
  request: OperationRequest,
): Promise<OperationAnswer> {
  const { store, vaultBase } = context;
  const name = request.secretName;
  if (name !== undefined) assertSecretName(name);
  switch (request.operation) {
    case 'setSecret': {
      const parameters = readSetParameters(await request.readBody());
      const version = store.set(requireName(name), parameters.value, parameters, context.nowSeconds());
      const record = store.active(requireName(name));
      return ok(secretBundle(vaultBase, record, version, { includeValue: true }));
    }
    case 'getSecret': {
      const { record, version } = store.version(requireName(name), request.version);
      if (!version.enabled) throw secretDisabled();
      return ok(secretBundle(vaultBase, record, version, { includeValue: true }));
    }
    case 'updateSecret': {
      const parameters = readUpdateParameters(await request.readBody());
      const { record, version } = store.version(requireName(name), request.version);
      version.applyUpdate(parameters, context.nowSeconds());
      return ok(secretBundle(vaultBase, record, version, { includeValue: false }));
    }
    case 'deleteSecret':
      return ok(deletedSecretBundle(vaultBase, store.delete(requireName(name), context.nowSeconds())));
    case 'getDeletedSecret':
      return ok(deletedSecretBundle(vaultBase, store.deleted(requireName(name))));
    case 'recoverDeletedSecret': {
      const record = store.recover(requireName(name));
      return ok(secretBundle(vaultBase, record, record.latest, { includeValue: false }));
    }
    case 'purgeDeletedSecret':
      store.purge(requireName(name));
      return { status: 204 };
    case 'getSecrets':
      return ok(
        listPage(context, request, '/secrets', store.listActive(), byLowerCaseName, (record) =>
          secretItem(vaultBase, record),
        ),
      );
    case 'getDeletedSecrets':
      return ok(
        listPage(context, request, '/deletedsecrets', store.listDeleted(), byLowerCaseName, (record) =>
          deletedSecretItem(vaultBase, record),
        ),
      );
    case 'getSecretVersions': {
      const { record, versions } = store.versionsOf(requireName(name));
      // Azure lists no versions, rather than a 404, for a name it does not hold.
      if (!record) return ok({ value: [], nextLink: null });
      // Zero-padded positions sort as strings in creation order.
      const positioned = versions.map((version, position) => ({
        version,
        key: String(position).padStart(10, '0'),
      }));
      return ok(
        listPage(
          context,
          request,
          `/secrets/${record.name}/versions`,
          positioned,
          (entry) => entry.key,
          (entry) => secretVersionItem(vaultBase, record, entry.version),
        ),
      );
    }
    case 'backupSecret':
    case 'restoreSecret':
      throw new KeyVaultError(
        501,
        'NotImplemented',
        `${request.operation} is not emulated by the keyless Key Vault emulator.`,
      );
  }
}

function byLowerCaseName(record: SecretRecord): string {
  return record.name.toLowerCase();
}

function listPage<Item>(
  context: OperationContext,
  request: OperationRequest,
  path: string,
  sortedItems: readonly Item[],
  sortKey: (item: Item) => string,
  toJson: (item: Item) => object,
): object {
  const pageRequest = readPageRequest(request.query);
  const page = takePage(sortedItems, sortKey, pageRequest);
  return {
    value: page.items.map(toJson),
    // Azure sends null on the last page.
    nextLink:
      page.nextSkipToken === undefined
        ? null
        : nextLink(context.vaultBase, path, request.apiVersion, page.nextSkipToken, pageRequest.pageSize),
  };
}

function ok(body: object): OperationAnswer {
  return { status: 200, body };
}

function requireName(name: string | undefined): string {
  if (name === undefined) throw badParameter('The request URI does not name a secret.');
  return name;
}
