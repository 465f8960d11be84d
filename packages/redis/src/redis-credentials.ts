import type { PasswordSource } from '@keyless/core';
import { recordAuthenticationFailure } from '@keyless/core/internal';
import type { PasswordBinding, PasswordChangeEvent } from '@keyless/keyvault/internal';
import type { RedisErrorContext } from './redis-error-mapping.js';

/**
 * The user and the bound password of one Redis connector, as ioredis needs them: ioredis reads the
 * password synchronously at every (re)connect, so the newest value is kept at hand, and a renewal
 * answers whether it changed (whether reconnecting can help). Nothing here prints the value.
 */
export class RedisCredentials {
  /** The ACL user (Entra: the identity's object id); undefined: Redis's `default` user. */
  readonly user: string | undefined;
  readonly #password: PasswordBinding;

  constructor(password: PasswordBinding, user: string | undefined) {
    this.#password = password;
    this.user = user;
  }

  get kind(): PasswordSource['kind'] {
    return this.#password.kind;
  }

  get description(): PasswordBinding['description'] {
    return this.#password.description;
  }

  /** The newest password or token; undefined until `ready()` first resolved. */
  get password(): string | undefined {
    return this.#password.latest;
  }

  /** Entra: when the current token expires. */
  get expiresOnTimestamp(): number | undefined {
    return this.#password.expiresOnTimestamp;
  }

  /** Entra: when the provider will have a newer token than the current one. */
  get refreshAfterTimestamp(): number | undefined {
    return this.#password.refreshAfterTimestamp;
  }

  /** What the error mapping says about a connection to `host`:`port` with these credentials (names, never values). */
  errorContext(host: string, port: number): RedisErrorContext {
    const { description } = this;
    return {
      mode: this.kind,
      host,
      port,
      user: this.user,
      secretName: description.mode === 'key-vault-secret' ? description.secretName : undefined,
    };
  }

  /** Resolves once a password is at hand: at once after the first, else the first fetch (shared). */
  async ready(): Promise<void> {
    if (this.#password.latest === undefined) await this.#password.get();
  }

  /** The server refused `refused`: renew (see PasswordBinding.renew). Resolves true when the value changed. */
  async recover(refused: string | undefined): Promise<boolean> {
    // Counted for OpenTelemetry (when an SDK is registered) even when the renewal then succeeds.
    recordAuthenticationFailure({ 'db.system.name': 'redis', 'keyless.password.kind': this.kind });
    const before = this.#password.latest;
    await this.#password.renew(refused);
    return this.#password.latest !== before;
  }

  /** Asks for the current value (Entra: the provider's token). Resolves true when it is a new one. */
  async refresh(): Promise<boolean> {
    const before = this.#password.latest;
    await this.#password.get();
    return this.#password.latest !== before;
  }

  /** Called whenever the password changes (a rotated secret, a refreshed token); not for the first. */
  onChange(listener: (event: PasswordChangeEvent) => void): () => void {
    return this.#password.on('change', listener);
  }

  close(): Promise<void> {
    return this.#password.close();
  }
}
