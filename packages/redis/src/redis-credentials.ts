import type { TokenProvider } from '@keyless/core';
import { registerSecretForRedaction } from '@keyless/core/internal';
import type { KeyVaultConnector, SecretSource } from '@keyless/keyvault';

/**
 * Where a connection's username and password come from, and how they are renewed. The current
 * value is kept in a private field; nothing here prints it.
 */
export interface RedisCredentials {
  readonly mode: 'secret' | 'entra';
  readonly username: string | undefined;
  /** The newest password or token; set once start() resolved. */
  readonly password: string;
  /** Entra: when the current token expires. */
  readonly expiresOnTimestamp: number | undefined;
  /** First fetch, before connecting. */
  start(): Promise<void>;
  /** The server refused `password`: fetch afresh. Resolves true when the value changed. */
  recover(): Promise<boolean>;
  /** Entra: ask the provider for its current token. Resolves true when it is a new one. */
  refresh(): Promise<boolean>;
  /** Called whenever `password` changes (a rotated secret, a refreshed token). */
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}

abstract class CredentialsBase {
  readonly #listeners = new Set<() => void>();
  #password: string | undefined;

  get password(): string {
    if (this.#password === undefined) throw new Error('credentials used before start()');
    return this.#password;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Returns whether the value changed. */
  protected install(password: string): boolean {
    if (password === this.#password) return false;
    registerSecretForRedaction(password);
    const first = this.#password === undefined;
    this.#password = password;
    if (!first) {
      for (const listener of [...this.#listeners]) {
        try {
          listener();
        } catch {
          // A listener's bug must not stop the renewal.
        }
      }
    }
    return true;
  }

  protected clearListeners(): void {
    this.#listeners.clear();
  }
}

export class SecretCredentials extends CredentialsBase implements RedisCredentials {
  readonly mode = 'secret' as const;
  readonly username: string | undefined;
  readonly expiresOnTimestamp = undefined;
  readonly secretName: string;
  readonly #vault: KeyVaultConnector;
  readonly #ownsVault: boolean;
  #source: SecretSource | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(
    vault: KeyVaultConnector,
    ownsVault: boolean,
    secretName: string,
    username: string | undefined,
  ) {
    super();
    this.#vault = vault;
    this.#ownsVault = ownsVault;
    this.secretName = secretName;
    this.username = username;
  }

  async start(): Promise<void> {
    const source = this.#vault.secret(this.secretName);
    this.#source = source;
    this.install(await source.get());
    // A background refresh that found a new version: new connections should use it at once.
    this.#unsubscribe = source.on('change', () => {
      source.get().then(
        (value) => this.install(value),
        () => {},
      );
    });
  }

  async recover(): Promise<boolean> {
    const source = this.#source;
    if (!source) return false;
    source.invalidate();
    return this.install(await source.get());
  }

  async refresh(): Promise<boolean> {
    if (!this.#source) return false;
    return this.install(await this.#source.get());
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.clearListeners();
    if (this.#ownsVault) await this.#vault.close();
  }
}

export class EntraCredentials extends CredentialsBase implements RedisCredentials {
  readonly mode = 'entra' as const;
  readonly username: string;
  readonly scope: string;
  readonly #tokenProvider: TokenProvider;
  #expiresOnTimestamp: number | undefined;
  #refreshAfterTimestamp: number | undefined;

  constructor(tokenProvider: TokenProvider, objectId: string, scope: string) {
    super();
    this.#tokenProvider = tokenProvider;
    this.username = objectId;
    this.scope = scope;
  }

  get expiresOnTimestamp(): number | undefined {
    return this.#expiresOnTimestamp;
  }

  /** When the provider will have a newer token than the current one. */
  get refreshAfterTimestamp(): number | undefined {
    return this.#refreshAfterTimestamp;
  }

  async start(): Promise<void> {
    await this.refresh();
  }

  recover(): Promise<boolean> {
    return this.refresh();
  }

  async refresh(): Promise<boolean> {
    const token = await this.#tokenProvider.getToken(this.scope);
    this.#expiresOnTimestamp = token.expiresOnTimestamp;
    this.#refreshAfterTimestamp = token.refreshAfterTimestamp;
    return this.install(token.token);
  }

  async close(): Promise<void> {
    this.clearListeners();
  }
}
