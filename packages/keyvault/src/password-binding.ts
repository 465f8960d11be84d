import { setTimeout as delay } from 'node:timers/promises';
import {
  ClosedError,
  ConfigurationError,
  type Environment,
  type PasswordSource,
  type TokenProvider,
} from '@keyless/core';
import {
  installRedactedViews,
  invalid,
  isPasswordSource,
  registerSecretForRedaction,
  requireSetting,
  settingSchema,
  TypedEmitter,
} from '@keyless/core/internal';
import type { KeyVaultConnector } from './keyvault-connector.js';
import { createKeyVaultConnectorWithInternals, secretNamePattern } from './keyvault-connector.js';
import type { SecretSource } from './secret-source.js';

/** What a connector that logs in with a password (PostgreSQL, Redis) tells the binding about itself. */
export interface PasswordBindingContext {
  /** The service, for messages: `PostgreSQL`, `Redis`. */
  service: string;
  /** The variable naming the secret when fromKeyVaultSecret() names none, e.g. KEYLESS_POSTGRES_PASSWORD_SECRET. */
  secretNameVariable: string;
  /** The service's Entra scope, for an entraToken() that names none. */
  defaultScope: string;
  /**
   * The connector's provider. Called at most once, while binding, and only when the source needs
   * one: Entra mode, or a Key Vault connector the binding makes (not one the application passed).
   */
  tokenProvider: () => TokenProvider;
  /** Read instead of process.env. */
  environment?: Environment | undefined;
}

/** A new password or token is available. Names only: never the value. */
export interface PasswordChangeEvent {
  mode: PasswordSource['kind'];
  /** Key Vault secret: the version now in use. */
  version?: string | undefined;
  /** Entra token: when the token now in use expires. */
  expiresOnTimestamp?: number | undefined;
}

/** What a bound source says about itself in messages and inspect views: names, never a value. */
export type PasswordDescription =
  | { readonly mode: 'key-vault-secret'; readonly secretName: string }
  | { readonly mode: 'entra-token'; readonly scope: string };

/**
 * A password source bound to one connector: the object both the PostgreSQL and the Redis
 * connector log in with. It reads the environment for what the source leaves out (once, when
 * bound), fetches and caches, renews after a refusal, and says when a new value is available.
 * What only a driver knows (which password a refused login sent, how to re-send AUTH) stays in
 * the driver's package.
 */
export interface PasswordBinding {
  readonly kind: PasswordSource['kind'];
  readonly description: PasswordDescription;
  /** The password or token to log in with now. Cached; concurrent callers share one fetch. */
  get(): Promise<string>;
  /** The newest value get() or renew() produced; undefined before the first. For drivers that read the password synchronously. */
  readonly latest: string | undefined;
  /** Entra: when `latest` expires; undefined for a secret. */
  readonly expiresOnTimestamp: number | undefined;
  /** Entra: when the provider will hand out a newer token than `latest`; undefined for a secret. */
  readonly refreshAfterTimestamp: number | undefined;
  /**
   * The server refused `refused` (undefined: unknown which value): resolves with the value to try
   * next. A secret is read afresh — unless another connection has already cached a different
   * value — and, while the vault still holds the refused value, read again after a short wait
   * (`renewDelaysMs`) for a rotation job that changed the server before the vault. An Entra token
   * is asked of the provider again. `signal` (the connector closing) ends a wait at once.
   */
  renew(refused: string | undefined, signal?: AbortSignal): Promise<string>;
  /** Told when a value other than `latest` is available (a new secret version, a new token); never the value. */
  on(name: 'change', listener: (event: PasswordChangeEvent) => void): () => void;
  /** Idempotent. Closes the Key Vault connector the binding made, never one the application passed. */
  close(): Promise<void>;
}

/** Waits between re-reads of a secret that still holds the refused value: 1.75 s in all. */
export const renewDelaysMs: readonly number[] = [250, 500, 1000];

/**
 * Checked here, where the option and the variable are known, so a name Key Vault would refuse is
 * reported with where it came from (`secretName`, or the connector's variable).
 */
const secretNameSchema = settingSchema((raw) => {
  if (typeof raw !== 'string') return invalid('expected a secret name');
  const name = raw.trim();
  if (name === '') return invalid('expected a non-empty secret name');
  return secretNamePattern.test(name)
    ? name
    : invalid('expected a Key Vault secret name: 1–127 letters, digits and dashes');
});

/**
 * Binds `source` (from `fromKeyVaultSecret()` / `entraToken()` of @keyless/core) for one connector:
 * what the source leaves out comes from the environment, options first, and a missing or bad
 * setting throws ConfigurationError naming the option and the variable — here, when the connector
 * is created, not at the first login. Nothing is fetched until `get()`.
 */
export function bindPasswordSource(source: unknown, context: PasswordBindingContext): PasswordBinding {
  if (!isPasswordSource(source)) {
    throw new ConfigurationError(`No password source is configured for ${context.service}`, {
      hint: `set the option \`password\` to fromKeyVaultSecret() (the secret named by \`secretName\` or ${context.secretNameVariable}) or entraToken(), both from @keyless/core`,
    });
  }
  if (source.kind === 'entra-token') {
    return new EntraTokenBinding(context.tokenProvider(), source.scope ?? context.defaultScope);
  }
  const secretName = requireSetting(
    secretNameSchema,
    {
      option: 'secretName',
      value: source.secretName,
      variables: [context.secretNameVariable],
      environment: context.environment ?? process.env,
    },
    {
      what: `Key Vault secret name for the ${context.service} password`,
      detail: ' (fromKeyVaultSecret({ secretName }) in the option `password`)',
    },
  );
  const ownsVault = source.connector === undefined;
  const vault =
    (source.connector as KeyVaultConnector | undefined) ??
    createKeyVaultConnectorWithInternals(
      {
        ...(source.vaultUrl === undefined ? {} : { vaultUrl: source.vaultUrl }),
        tokenProvider: context.tokenProvider(),
      },
      context.environment === undefined ? {} : { environment: context.environment },
    );
  try {
    const secret = vault.secret(
      secretName,
      source.refreshIntervalMs === undefined ? {} : { refreshIntervalMs: source.refreshIntervalMs },
    );
    if (typeof secret?.get !== 'function' || typeof secret.invalidate !== 'function') {
      throw new ConfigurationError('Invalid option `connector` of fromKeyVaultSecret()', {
        hint: 'pass a connector made by createKeyVaultConnector() from @keyless/keyvault',
      });
    }
    return new KeyVaultSecretBinding(secret, secretName, ownsVault ? vault : undefined);
  } catch (error) {
    if (ownsVault) void vault.close();
    throw error;
  }
}

/** What both kinds share: the newest value, change events, names-only views, and a lifetime. */
abstract class BindingBase {
  readonly description: PasswordDescription;
  readonly #emitter = new TypedEmitter<{ change: PasswordChangeEvent }>();
  /** Aborted by close(): a renewal waiting for a rotation stops waiting. */
  protected readonly closing = new AbortController();
  #latest: string | undefined;

  constructor(description: PasswordDescription) {
    this.description = description;
    installRedactedViews(this, () => ({ ...this.description, closed: this.closed }), 'PasswordBinding');
  }

  get latest(): string | undefined {
    return this.#latest;
  }

  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  on(name: 'change', listener: (event: PasswordChangeEvent) => void): () => void {
    return this.#emitter.on(name, listener);
  }

  /** Records a value get() or renew() produced; a different one than before is a change. */
  protected note(value: string, event: PasswordChangeEvent): string {
    const previous = this.#latest;
    if (value === previous || this.closed) return value;
    // Drivers quote passwords in their errors; every value we hand out is scrubbed from them.
    registerSecretForRedaction(value);
    this.#latest = value;
    if (previous !== undefined) this.#emitter.emit('change', event);
    return value;
  }

  protected assertOpen(): void {
    if (this.closed) throw new ClosedError(`${this.description.mode} password source`);
  }

  protected closeBase(): void {
    this.closing.abort();
    this.#emitter.removeAll();
  }
}

class KeyVaultSecretBinding extends BindingBase implements PasswordBinding {
  readonly kind = 'key-vault-secret' as const;
  readonly expiresOnTimestamp = undefined;
  readonly refreshAfterTimestamp = undefined;
  readonly #secret: SecretSource;
  readonly #ownedVault: KeyVaultConnector | undefined;
  readonly #stopListening: () => void;
  #closing: Promise<void> | undefined;

  constructor(secret: SecretSource, secretName: string, ownedVault: KeyVaultConnector | undefined) {
    super({ mode: 'key-vault-secret', secretName });
    this.#secret = secret;
    this.#ownedVault = ownedVault;
    // A background refresh found a new version: new logins should use it from now on. Before the
    // first get() there is nothing to replace (and the first value is no change).
    this.#stopListening = secret.on('change', () => {
      if (this.latest === undefined || this.closed) return;
      secret.get().then(
        (value) => this.#note(value),
        () => {},
      );
    });
  }

  async get(): Promise<string> {
    this.assertOpen();
    return this.#note(await this.#secret.get());
  }

  async renew(refused: string | undefined, signal?: AbortSignal): Promise<string> {
    this.assertOpen();
    const secret = this.#secret;
    // Another connection may have re-read it already: a different cached value is the fresh one.
    const cached = await secret.get().catch(() => undefined);
    if (refused !== undefined && cached !== undefined && cached !== refused) return this.#note(cached);
    secret.invalidate();
    const ended = signal === undefined ? this.closing.signal : AbortSignal.any([this.closing.signal, signal]);
    for (const delayMs of renewDelaysMs) {
      const fresh = await secret.get();
      if (refused === undefined || fresh !== refused) return this.#note(fresh);
      // A caller is waiting for this login: the wait keeps the process alive (an unref'd timer let
      // a one-off script exit with its query never settled), and close() ends it.
      try {
        await delay(delayMs, undefined, { signal: ended });
      } catch {
        throw new ClosedError('key-vault-secret password source');
      }
      secret.invalidate();
    }
    return this.#note(await secret.get());
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopListening();
      this.closeBase();
      await this.#ownedVault?.close();
    })();
    return this.#closing;
  }

  #note(value: string): string {
    return this.note(value, { mode: this.kind, version: this.#secret.version });
  }
}

class EntraTokenBinding extends BindingBase implements PasswordBinding {
  readonly kind = 'entra-token' as const;
  readonly #tokenProvider: TokenProvider;
  readonly #scope: string;
  #expiresOnTimestamp: number | undefined;
  #refreshAfterTimestamp: number | undefined;

  constructor(tokenProvider: TokenProvider, scope: string) {
    super({ mode: 'entra-token', scope });
    this.#tokenProvider = tokenProvider;
    this.#scope = scope;
  }

  get expiresOnTimestamp(): number | undefined {
    return this.#expiresOnTimestamp;
  }

  get refreshAfterTimestamp(): number | undefined {
    return this.#refreshAfterTimestamp;
  }

  async get(): Promise<string> {
    this.assertOpen();
    // The provider caches and refreshes in the background: asking per login costs nothing.
    const token = await this.#tokenProvider.getToken(this.#scope);
    // Two callers' answers may arrive out of order around a refresh: never step back to an older token.
    if (this.#expiresOnTimestamp === undefined || token.expiresOnTimestamp >= this.#expiresOnTimestamp) {
      this.#expiresOnTimestamp = token.expiresOnTimestamp;
      this.#refreshAfterTimestamp = token.refreshAfterTimestamp;
      this.note(token.token, { mode: this.kind, expiresOnTimestamp: token.expiresOnTimestamp });
    }
    return token.token;
  }

  /** A token is fresh by construction (the provider never hands out one near expiry): ask again. */
  renew(): Promise<string> {
    return this.get();
  }

  async close(): Promise<void> {
    // The provider is the connector's (or the application's) to close.
    this.closeBase();
  }
}
