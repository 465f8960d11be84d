/**
 * Key Vault answers every failure as `{"error":{"code","message","innererror"?}}`; the SDK reads
 * `error.code` into `RestError.code`, so the codes (and, where callers match on them, the messages)
 * follow what the service sends. Messages quoted from public reports of real answers are marked
 * "observed"; the others are close paraphrases.
 */
export class KeyVaultError extends Error {
  override readonly name = 'KeyVaultError';
  readonly status: number;
  readonly code: string;
  readonly innerCode: string | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { innerCode?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.innerCode = options.innerCode;
    this.headers = options.headers ?? {};
  }

  body(): object {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.innerCode ? { innererror: { code: this.innerCode } } : {}),
      },
    };
  }
}

const recoveryHint =
  'If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182';

// observed
export function secretNotFound(name: string, version?: string): KeyVaultError {
  const nameOrId = version ? `${name}/${version}` : name;
  return new KeyVaultError(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${nameOrId} was not found in this key vault. ${recoveryHint}`,
  );
}

// observed
export function deletedSecretNotFound(name: string): KeyVaultError {
  return new KeyVaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
}

// observed
export function secretIsDeletedButRecoverable(name: string): KeyVaultError {
  return new KeyVaultError(
    409,
    'Conflict',
    `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
    { innerCode: 'ObjectIsDeletedButRecoverable' },
  );
}

export function secretDisabled(): KeyVaultError {
  return new KeyVaultError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', {
    innerCode: 'SecretDisabled',
  });
}

export function badParameter(message: string): KeyVaultError {
  return new KeyVaultError(400, 'BadParameter', message);
}
