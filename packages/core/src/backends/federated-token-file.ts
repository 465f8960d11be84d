import { readFile, stat } from 'node:fs/promises';
import { CredentialUnavailableError } from '../errors.js';

/**
 * The projected service-account token that AKS workload identity exchanges at Entra
 * (AZURE_FEDERATED_TOKEN_FILE). The kubelet rewrites it at 80% of its lifetime
 * (https://kubernetes.io/docs/concepts/storage/projected-volumes/#serviceaccounttoken) by swapping
 * a symlink or renaming a file over it. It is read again whenever the file changed — a `stat` per
 * token request, which keyless's cache keeps rare — so a rotated token is used at the next request.
 * @azure/identity caches the content for 5 minutes and Python's azure-identity for 10: both may
 * hand Entra an assertion the kubelet already replaced; a stat is cheaper than that doubt.
 * The content is a credential: it never appears in an error, a log or an inspected object.
 */
export class FederatedTokenFile {
  readonly path: string;
  #cached: { signature: string; assertion: string } | undefined;

  constructor(path: string) {
    this.path = path;
  }

  async read(): Promise<string> {
    let signature: string;
    try {
      const info = await stat(this.path);
      // A rename or symlink swap gives a new inode; an in-place rewrite a new mtime or size.
      signature = `${info.ino}:${info.mtimeMs}:${info.size}`;
    } catch (error) {
      throw unreadable(this.path, error);
    }
    if (this.#cached?.signature === signature) return this.#cached.assertion;
    let assertion: string;
    try {
      assertion = (await readFile(this.path, 'utf8')).trim();
    } catch (error) {
      throw unreadable(this.path, error);
    }
    if (assertion === '') {
      throw new CredentialUnavailableError(
        `workload identity: the token file named by AZURE_FEDERATED_TOKEN_FILE (${this.path}) is empty`,
        {
          hint: 'the projected service-account token volume is not mounted yet or was emptied; check the pod has the azure.workload.identity/use: "true" label and its service account the client-id annotation',
        },
      );
    }
    this.#cached = { signature, assertion };
    return assertion;
  }

  toJSON(): object {
    return { path: this.path };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `FederatedTokenFile { path: '${this.path}' }`;
  }
}

function unreadable(path: string, error: unknown): CredentialUnavailableError {
  const code = (error as { code?: unknown } | null)?.code;
  return new CredentialUnavailableError(
    `workload identity: cannot read the token file named by AZURE_FEDERATED_TOKEN_FILE (${path})${typeof code === 'string' ? `: ${code}` : ''}`,
    {
      hint:
        code === 'ENOENT'
          ? 'the projected service-account token is not there: on AKS the workload-identity webhook mounts it when the pod has the azure.workload.identity/use: "true" label; locally, `keyless-local up --host aks` writes it'
          : 'make the file readable by this process',
      cause: error,
    },
  );
}
