import type { SecretClient, SecretClientOptions } from '@azure/keyvault-secrets';
import {
  ClosedError,
  ConfigurationError,
  createTokenProvider,
  KeylessError,
  ServiceUnavailableError,
  type TokenProvider,
} from '@keyless/core';
import {
  type Clock,
  installRedactedViews,
  Readiness,
  recordSecretFetch,
  resolveTokenProviderOption,
  systemClock,
  warnAboutCredentialPrintingDebugOutput,
} from '@keyless/core/internal';
import {
  buildClientOptions,
  type KeyVaultConnectorInternals,
  type KeyVaultConnectorOptions,
  keyVaultScope,
  resolveRequestTimeout,
  resolveVaultUrl,
  type SecretGetter,
} from './connector-options.js';
import { isConnectionResetBeforeAnswer, mapKeyVaultError } from './key-vault-error-mapping.js';
import { assertKeyVaultTransport, assertVaultDestination } from './key-vault-transport-guard.js';
import {
  defaultRefreshIntervalMs,
  defaultRefreshJitterFraction,
  type FetchedSecret,
  KeylessSecretSource,
  type SecretSource,
  type SecretSourceOptions,
} from './secret-source.js';
import { secretsLibrary } from './secrets-library.js';

/** Options of `connector.connect()`. */
export interface KeyVaultConnectOptions {
  /**
   * Secrets to read now, through their secret sources (with default options), so a missing role,
   * a wrong vault URL or name, or an unreachable vault fails the start-up instead of the first use.
   * The values are cached: the application's later `secret(name).get()` is served without a request.
   */
  secrets?: readonly string[];
}

/** What `createKeyVaultConnector()` returns: the SDK's `SecretClient` with the shared provider, cached secret sources, and a lifetime. */
export interface KeyVaultConnector {
  /** The SDK's own SecretClient with the shared provider; created on first use. */
  readonly client: SecretClient;
  /** A cached, refreshing source for one secret. The same name and options give the same source. */
  secret(name: string, options?: SecretSourceOptions): SecretSource;
  /**
   * For a fail-fast start-up: resolves once the identity has a token for Key Vault (so a process
   * without a managed identity fails here) and every secret named in `secrets` has been read;
   * rejects with the typed error otherwise (CredentialUnavailableError, AuthorizationError,
   * ConfigurationError for a missing secret, …). Without `secrets` nothing is sent to the vault:
   * the token proves the identity, not the vault URL or the role. The factory itself never does I/O.
   */
  connect(options?: KeyVaultConnectOptions): Promise<void>;
  /**
   * For a readiness probe (App Service health check, Kubernetes readinessProbe): the first call is
   * `connect(options)`; once that has succeeded, a call only checks what the process holds — a Key
   * Vault token and each named secret, served from their caches (no request while they are valid;
   * a secret source keeps serving its last good value through a vault outage) — so a probe every few
   * seconds does not load the vault. Rejects with the typed error when not ready; the next call then
   * runs `connect()` again.
   */
  ready(options?: KeyVaultConnectOptions): Promise<void>;
  /**
   * Idempotent; stops every source's timers and ends the secret fetches in flight (their get()
   * rejects with ClosedError), so nothing of the connector keeps the process alive. Afterwards
   * client, secret() and get() throw/reject ClosedError. Requests you started yourself on `client`
   * are yours to end (pass an `abortSignal`).
   */
  close(): Promise<void>;
}

/**
 * Key Vault secrets with the shared managed-identity provider. Bad configuration (a missing or
 * non-https vault URL, turning off the challenge check for a real vault, an option that weakens TLS
 * verification, NODE_TLS_REJECT_UNAUTHORIZED=0 with a vault that is not loopback) throws
 * ConfigurationError here, not at the first request. The SDK loads when a client is first needed
 * (secrets-library.ts).
 */
export function createKeyVaultConnector(options: KeyVaultConnectorOptions = {}): KeyVaultConnector {
  return createKeyVaultConnectorWithInternals(options, {});
}

/** `createKeyVaultConnector` with test and simulation hooks; exported from `@keyless/keyvault/testing`. */
export function createKeyVaultConnectorWithInternals(
  options: KeyVaultConnectorOptions,
  internals: KeyVaultConnectorInternals,
): KeyVaultConnector {
  const environment = () => internals.environment ?? process.env;
  warnAboutCredentialPrintingDebugOutput(environment());
  const vaultUrl = resolveVaultUrl(options.vaultUrl, internals.environment);
  assertKeyVaultTransport(options, vaultUrl, environment());
  const clientOptions = buildClientOptions(vaultUrl, options.clientOptions, environment);
  const requestTimeoutMs = resolveRequestTimeout(options.requestTimeoutMs);
  const given = resolveTokenProviderOption(options.tokenProvider);
  const ownsProvider = given === undefined;
  const tokenProvider =
    given ?? createTokenProvider(internals.environment ? { environment: internals.environment } : {});
  return new KeylessKeyVaultConnector(
    vaultUrl,
    tokenProvider,
    ownsProvider,
    clientOptions,
    requestTimeoutMs,
    internals,
  );
}

/**
 * Key Vault's own rule for object names: 1–127 letters, digits and dashes
 * (https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates#object-identifiers).
 */
export const secretNamePattern = /^[0-9a-zA-Z-]{1,127}$/;
const versionPattern = /^[0-9a-zA-Z]{1,64}$/;

class KeylessKeyVaultConnector implements KeyVaultConnector {
  readonly #vaultUrl: string;
  readonly #tokenProvider: TokenProvider;
  readonly #ownsProvider: boolean;
  readonly #clientOptions: SecretClientOptions;
  readonly #requestTimeoutMs: number;
  readonly #clock: Clock;
  readonly #internals: KeyVaultConnectorInternals;
  readonly #sources = new Map<string, KeylessSecretSource>();
  /** Aborted by close(): a fetch in flight ends with it, so its socket cannot keep the process alive. */
  readonly #closing = new AbortController();
  #client: SecretClient | undefined;
  #readiness: Readiness | undefined;
  #closed = false;

  constructor(
    vaultUrl: string,
    tokenProvider: TokenProvider,
    ownsProvider: boolean,
    clientOptions: SecretClientOptions,
    requestTimeoutMs: number,
    internals: KeyVaultConnectorInternals,
  ) {
    this.#vaultUrl = vaultUrl;
    this.#tokenProvider = tokenProvider;
    this.#ownsProvider = ownsProvider;
    this.#clientOptions = clientOptions;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#clock = internals.clock ?? systemClock;
    this.#internals = internals;
    // Names only: the vault and the secrets asked for, never a value.
    installRedactedViews(
      this,
      () => ({ vaultUrl: this.#vaultUrl, secrets: this.#secretNames(), closed: this.#closed }),
      'KeyVaultConnector',
    );
  }

  get client(): SecretClient {
    if (this.#closed) throw new ClosedError('KeyVaultConnector');
    // The SDK loads here, the first time a client is needed (secrets-library.ts says why).
    this.#client ??= new (secretsLibrary().SecretClient)(
      this.#vaultUrl,
      this.#tokenProvider,
      this.#clientOptions,
    );
    return this.#client;
  }

  secret(name: string, options: SecretSourceOptions = {}): SecretSource {
    if (this.#closed) throw new ClosedError('KeyVaultConnector');
    if (typeof name !== 'string' || !secretNamePattern.test(name)) {
      throw new ConfigurationError('Invalid secret name', {
        hint: 'a Key Vault secret name is 1–127 letters, digits and dashes',
      });
    }
    const refreshIntervalMs = options.refreshIntervalMs ?? defaultRefreshIntervalMs;
    if (!Number.isFinite(refreshIntervalMs) || refreshIntervalMs <= 0) {
      throw new ConfigurationError('Invalid option `refreshIntervalMs` of secret()', {
        hint: 'give a positive number of milliseconds (default 300000, five minutes)',
      });
    }
    const version = options.version;
    if (version !== undefined && (typeof version !== 'string' || !versionPattern.test(version))) {
      throw new ConfigurationError('Invalid option `version` of secret()', {
        hint: 'give a version id as Key Vault shows it (32 hex digits), or leave it out for the latest',
      });
    }
    const key = `${name}\u0000${version ?? ''}\u0000${refreshIntervalMs}`;
    const existing = this.#sources.get(key);
    if (existing) return existing;
    const source = new KeylessSecretSource({
      name,
      version,
      refreshIntervalMs,
      fetch: () => this.#fetchSecretRecorded(name, version),
      clock: this.#clock,
      random: this.#internals.random ?? Math.random,
      refreshJitterFraction: defaultRefreshJitterFraction,
      baseRetryDelayMs: this.#internals.baseRetryDelayMs ?? 1000,
      maxRetryDelayMs: this.#internals.maxRetryDelayMs ?? 60_000,
    });
    this.#sources.set(key, source);
    return source;
  }

  /** #fetchSecret, recorded for OpenTelemetry when an SDK is registered (a span and a count; names only). */
  async #fetchSecretRecorded(name: string, version: string | undefined): Promise<FetchedSecret> {
    const started = performance.now();
    const attributes = { 'server.address': new URL(this.#vaultUrl).hostname, 'keyless.secret.name': name };
    try {
      const fetched = await this.#fetchSecret(name, version);
      recordSecretFetch(attributes, performance.now() - started);
      return fetched;
    } catch (error) {
      const { code = 'unknown', message = String(error) } = (error ?? {}) as {
        code?: string;
        message?: string;
      };
      recordSecretFetch(attributes, performance.now() - started, { code, message });
      throw error;
    }
  }

  /**
   * Settles with `work`, or rejects once close() is called: the abort ends the SDK's request, but a
   * wait outside it (a custom credential that ignores the abort signal) must not hold get() either.
   * A listener per fetch, removed after it, rather than a race against one shared pending promise,
   * whose reactions would pile up with every fetch of a long-lived process.
   */
  #untilClosed<T>(work: Promise<T>): Promise<T> {
    const signal = this.#closing.signal;
    return new Promise<T>((resolve, reject) => {
      const onClose = () => reject(new ClosedError('KeyVaultConnector'));
      signal.addEventListener('abort', onClose, { once: true });
      work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onClose));
    });
  }

  async connect(options: KeyVaultConnectOptions = {}): Promise<void> {
    if (this.#closed) throw new ClosedError('KeyVaultConnector');
    const names = options?.secrets ?? [];
    if (!Array.isArray(names)) {
      throw new ConfigurationError('Invalid option `secrets` of connect()', {
        hint: "give an array of secret names, e.g. connect({ secrets: ['postgres-password'] })",
      });
    }
    // Sources first: a bad name is a ConfigurationError before any request.
    const sources = names.map((name: string) => this.secret(name));
    // The scope the SecretClient will ask for, so this token is the one its requests use.
    const token = this.#tokenProvider.getToken(keyVaultScope(this.#vaultUrl));
    // Meanwhile the SDK loads, so a missing one fails the start-up and the first read finds it.
    try {
      this.client;
    } catch (error) {
      token.catch(() => {});
      throw error;
    }
    await this.#untilClosed(token);
    await Promise.all(sources.map((source) => source.get()));
  }

  ready(options: KeyVaultConnectOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('KeyVaultConnector'));
    this.#readiness ??= new Readiness(
      () => this.connect(options),
      async () => {
        await this.#untilClosed(this.#tokenProvider.getToken(keyVaultScope(this.#vaultUrl)));
        await Promise.all((options.secrets ?? []).map((name) => this.secret(name).get()));
      },
    );
    return this.#readiness.check();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const source of this.#sources.values()) source.close();
    this.#sources.clear();
    this.#closing.abort();
    this.#client = undefined;
    if (this.#ownsProvider) await this.#tokenProvider.close();
  }

  #secretNames(): string[] {
    return [...new Set([...this.#sources.values()].map((source) => source.name))];
  }

  /** The SDK's read, ended by close() or, when Key Vault does not answer in time, by the timeout. */
  #clientGetSecret(client: SecretClient, timeout: AbortSignal): SecretGetter {
    const abortSignal = AbortSignal.any([this.#closing.signal, timeout]);
    return (name, options) => client.getSecret(name, { ...options, abortSignal });
  }

  /**
   * The first read through the SDK: ask the provider for the token now, without waiting for it. The
   * SDK's first request goes to the vault without one, to learn the vault's challenge, and only then
   * asks for the token; started here, the token (and the token library loading before it) overlaps
   * that round trip, and the SDK's own request joins it (the provider is single flight). Its failure
   * reaches the caller through the SDK's request, as before; this promise is only a head start.
   */
  #startTokenEarly(): void {
    if (this.#client !== undefined) return;
    this.#tokenProvider.getToken(keyVaultScope(this.#vaultUrl)).catch(() => {});
  }

  async #fetchSecret(name: string, version: string | undefined): Promise<FetchedSecret> {
    if (this.#closed) throw new ClosedError('KeyVaultConnector');
    // Started after the SDK has loaded: loading is local work, not a slow vault.
    let timeout: AbortSignal | undefined;
    let secret: Awaited<ReturnType<SecretGetter>>;
    try {
      // The client's pipeline policy checks every request, but only SDKs on the Core v2 pipeline
      // (@azure/keyvault-secrets 4.5 and later) take additional policies; this check holds for the
      // secret sources with every 4.x. A refusal is a ConfigurationError, never retried early.
      assertVaultDestination(this.#vaultUrl, this.#internals.environment ?? process.env);
      let client: SecretClient | undefined;
      if (this.#internals.getSecret === undefined) {
        this.#startTokenEarly();
        client = this.client;
      }
      timeout = AbortSignal.timeout(this.#requestTimeoutMs);
      const getSecret = this.#internals.getSecret ?? this.#clientGetSecret(client as SecretClient, timeout);
      const read = () => this.#untilClosed(getSecret(name, version === undefined ? {} : { version }));
      // One immediate second try, within the same timeout, when a stale keep-alive socket broke
      // before any answer: without it a cold first read (nothing cached to serve meanwhile) would
      // fail connect() on what a new connection fixes. Anything else goes to the source's backoff.
      secret = await read().catch((error: unknown) => {
        if (this.#closed || timeout?.aborted || !isConnectionResetBeforeAnswer(error)) throw error;
        return read();
      });
    } catch (error) {
      if (this.#closed) throw new ClosedError('KeyVaultConnector');
      if (timeout?.aborted) {
        throw new ServiceUnavailableError(
          `Key Vault at ${this.#vaultUrl} did not answer the read of secret '${name}' within requestTimeoutMs (${this.#requestTimeoutMs} ms)`,
          {
            cause: error,
            hint: 'the vault or the network path to it is slow or hung; the secret source retries with backoff and serves the last good value meanwhile',
          },
        );
      }
      throw mapKeyVaultError(error, { vaultUrl: this.#vaultUrl, name, version, now: this.#clock.now() });
    }
    if (typeof secret.value !== 'string') {
      throw new KeylessError('invalid-response', `Key Vault returned no value for secret '${name}'`, {
        hint: 'check that the vault URL points at Key Vault',
      });
    }
    return { value: secret.value, version: secret.properties.version };
  }
}
