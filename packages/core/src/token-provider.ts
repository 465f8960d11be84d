import type { GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { KeylessAccessToken } from './access-token.js';
import { LazyBackend } from './backends/lazy-backend.js';
import type { TokenBackend } from './backends/token-backend.js';
import {
  resolveWorkloadIdentity,
  type WorkloadIdentitySettings,
} from './backends/workload-identity-settings.js';
import { type Clock, systemClock } from './clock.js';
import { warnAboutCredentialPrintingDebugOutput } from './debug-output.js';
import { ClosedError, ConfigurationError } from './errors.js';
import { type TokenProviderEvents, TypedEmitter } from './events.js';
import { describeIdentity, type ManagedIdentitySelector } from './identity.js';
import {
  type ResolvedProviderOptions,
  resolveProviderOptions,
  type TokenBackendName,
  type TokenProviderOptions,
} from './provider-options.js';
import { type EntryListener, type TokenCacheEntry, tokenCacheFor } from './token-cache.js';

/**
 * The one thing connectors need: managed-identity tokens, cached and refreshed for the whole
 * process. Structurally a `TokenCredential`, so it goes straight into `BlobServiceClient`,
 * `SecretClient` or tedious's `token-credential` authentication.
 */
export interface TokenProvider extends TokenCredential {
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<KeylessAccessToken>;
  readonly backend: TokenBackendName;
  readonly identity: ManagedIdentitySelector;
  /** Printable identity, e.g. `user-assigned client-id 5b0c…` (ids are not secrets). */
  readonly identityDescription: string;
  /**
   * Gets a token for each scope now (one token per scope, as `getToken(scope)` would) so that the
   * first real request finds it cached: a start-up step or a readiness probe. Resolves when every
   * token is cached; rejects with the first failure (a KeylessError). A scope already cached costs
   * no request, so a probe can call it every few seconds.
   */
  warmUp(scopes: string | readonly string[]): Promise<void>;
  /** Listens to an event; returns a function that stops listening. */
  on<Name extends keyof TokenProviderEvents>(
    name: Name,
    listener: (event: TokenProviderEvents[Name]) => void,
  ): () => void;
  /** Stops a listener added with `on`. */
  off<Name extends keyof TokenProviderEvents>(
    name: Name,
    listener: (event: TokenProviderEvents[Name]) => void,
  ): void;
  /** Stops this provider's timers and releases its cache entries. Idempotent. */
  close(): Promise<void>;
}

/** Test and simulation hooks (`@keyless/core/testing`); not for applications. */
export interface TokenProviderInternals {
  clock?: Clock;
  /** Replaces the backend (a unit test's fake endpoint). */
  backend?: TokenBackend;
  /** 0..1 random source for backoff jitter. */
  random?: () => number;
  baseRetryDelayMs?: number;
  requestTimeoutMs?: number;
}

/**
 * Builds a provider from options, else the environment (KEYLESS_TOKEN_PROVIDER, AZURE_CLIENT_ID,
 * Managed_Identity_Client_ID, …). Bad configuration throws ConfigurationError here, not at the
 * first request.
 */
export function createTokenProvider(options: TokenProviderOptions = {}): TokenProvider {
  return createTokenProviderWithInternals(options, {});
}

/** `createTokenProvider` with test and simulation hooks; exported from `@keyless/core/testing`. */
export function createTokenProviderWithInternals(
  options: TokenProviderOptions,
  internals: TokenProviderInternals,
): TokenProvider {
  const resolved = resolveProviderOptions(options);
  warnAboutCredentialPrintingDebugOutput(options.environment ?? process.env);
  return new KeylessTokenProvider(resolved, internals);
}

class KeylessTokenProvider implements TokenProvider {
  readonly backend: TokenBackendName;
  readonly identity: ManagedIdentitySelector;
  readonly identityDescription: string;
  readonly #options: ResolvedProviderOptions;
  readonly #internals: TokenProviderInternals;
  readonly #clock: Clock;
  readonly #tokenBackend: TokenBackend;
  readonly #emitter = new TypedEmitter<TokenProviderEvents>();
  /** Plain single-scope requests: the hot path is one Map lookup. */
  readonly #entriesByScope = new Map<string, TokenCacheEntry>();
  readonly #otherEntries = new Map<string, TokenCacheEntry>();
  readonly #listener: EntryListener;
  #closed = false;

  constructor(options: ResolvedProviderOptions, internals: TokenProviderInternals) {
    this.#options = options;
    this.#internals = internals;
    this.#clock = internals.clock ?? systemClock;
    this.identity = options.identity;
    this.identityDescription = describeIdentity(options.identity);
    this.#tokenBackend =
      internals.backend ?? createBackend(options, this.#clock, internals.requestTimeoutMs ?? 10_000);
    this.backend = this.#tokenBackend.name;
    const emitter = this.#emitter;
    this.#listener = {
      acquired: (event) => emitter.emit('acquired', event),
      refreshed: (event) => emitter.emit('refreshed', event),
      refreshFailed: (event) => emitter.emit('refresh-failed', event),
      throttled: (event) => emitter.emit('throttled', event),
    };
  }

  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<KeylessAccessToken> {
    if (this.#closed) return Promise.reject(new ClosedError('TokenProvider'));
    const scope = typeof scopes === 'string' ? scopes : scopes.length === 1 ? scopes[0] : undefined;
    if (typeof scope !== 'string' || scope === '') return Promise.reject(scopeError(scopes));
    // The tenant a caller names (Key Vault's challenge names the vault's) does not key the cache: a
    // managed identity's token always comes from the identity's own tenant, and both backends ignore
    // it (ManagedIdentityCredential, MSAL's ManagedIdentityApplication). Keyed on it, a Key Vault
    // client asking with the tenant and a warm-up asking without it made two identical tokens.
    if (options === undefined || (!options.claims && !options.abortSignal)) {
      const entry = this.#entriesByScope.get(scope) ?? this.#attach(scope, undefined, undefined);
      return entry.get();
    }
    const entry = this.#attach(scope, undefined, options.claims);
    const flight = entry.get();
    return options.abortSignal ? abortable(flight, options.abortSignal) : flight;
  }

  async warmUp(scopes: string | readonly string[]): Promise<void> {
    const list = typeof scopes === 'string' ? [scopes] : scopes;
    if (!Array.isArray(list) || list.length === 0) {
      throw new ConfigurationError('warmUp takes a scope or a non-empty list of scopes (one token each)', {
        hint: "pass the scopes your connectors use, e.g. ['https://storage.azure.com/.default']",
      });
    }
    // All at once (each scope is its own single flight); the first failure is the answer.
    await Promise.all(list.map((scope) => this.getToken(scope)));
  }

  on<Name extends keyof TokenProviderEvents>(
    name: Name,
    listener: (event: TokenProviderEvents[Name]) => void,
  ): () => void {
    return this.#emitter.on(name, listener);
  }

  off<Name extends keyof TokenProviderEvents>(
    name: Name,
    listener: (event: TokenProviderEvents[Name]) => void,
  ): void {
    this.#emitter.off(name, listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const cache = tokenCacheFor(this.#clock);
    for (const entry of [...this.#entriesByScope.values(), ...this.#otherEntries.values()]) {
      cache.release(entry, this.#listener);
    }
    this.#entriesByScope.clear();
    this.#otherEntries.clear();
    this.#emitter.removeAll();
  }

  toJSON(): Record<string, unknown> {
    return { backend: this.backend, identity: this.identityDescription, closed: this.#closed };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `TokenProvider { backend: '${this.backend}', identity: '${this.identityDescription}' }`;
  }

  #attach(scope: string, tenantId: string | undefined, claims: string | undefined): TokenCacheEntry {
    const plain = tenantId === undefined && claims === undefined;
    const localKey = plain ? scope : `${scope}\u0000${tenantId ?? ''}\u0000${claims ?? ''}`;
    const existing = plain ? this.#entriesByScope.get(localKey) : this.#otherEntries.get(localKey);
    if (existing) return existing;
    const backend = this.#tokenBackend;
    const key = [backend.name, this.identityDescription, scope, tenantId ?? '', claims ?? ''].join('\u0000');
    const entry = tokenCacheFor(this.#clock).acquire(
      {
        key,
        describe: {
          scope,
          backend: backend.name,
          identity: this.identityDescription,
          ...(tenantId ? { tenantId } : {}),
        },
        fetch: (abortSignal) => backend.fetchToken({ scope, tenantId, claims, abortSignal }),
        policy: {
          refreshBeforeExpiryMs: this.#options.refreshBeforeExpiryMs,
          expiryMarginMs: this.#options.expiryMarginMs,
          maxColdAttempts: this.#options.maxColdAttempts,
          maxRetryDelayMs: this.#options.maxRetryDelayMs,
          baseRetryDelayMs: this.#internals.baseRetryDelayMs ?? 500,
          random: this.#internals.random ?? Math.random,
          backendCachesTokens: backend.name === 'azure-identity',
        },
      },
      this.#listener,
    );
    if (plain) this.#entriesByScope.set(localKey, entry);
    else this.#otherEntries.set(localKey, entry);
    return entry;
  }
}

/**
 * Checks the configuration now (bad configuration fails at construction) but loads the backend's
 * library only when the first token is asked for, and only the chosen one: see LazyBackend.
 */
function createBackend(
  options: ResolvedProviderOptions,
  clock: Clock,
  requestTimeoutMs: number,
): TokenBackend {
  const now = () => clock.now();
  // AKS workload identity when AZURE_FEDERATED_TOKEN_FILE is set; its configuration is checked now.
  // Developer mode leaves the choice to DefaultAzureCredential's chain, which tries it too.
  const workloadIdentity = options.developerCredential
    ? resolveDeveloperWorkloadIdentity(options)
    : resolveWorkloadIdentity(options.environment, options.identity);
  if (options.backend === 'msal') {
    if (workloadIdentity) {
      const settings = workloadIdentity;
      return new LazyBackend('msal', options.identity, async () => {
        const { MsalWorkloadIdentityBackend } = await import('./backends/msal-workload-identity-backend.js');
        return new MsalWorkloadIdentityBackend({
          identity: options.identity,
          environment: options.environment,
          requestTimeoutMs,
          now,
          workloadIdentity: settings,
        });
      });
    }
    return new LazyBackend('msal', options.identity, async () => {
      const { MsalBackend } = await import('./backends/msal-backend.js');
      return new MsalBackend({
        identity: options.identity,
        environment: options.environment,
        requestTimeoutMs,
        now,
      });
    });
  }
  return new LazyBackend('azure-identity', options.identity, async () => {
    const { AzureIdentityBackend } = await import('./backends/azure-identity-backend.js');
    return new AzureIdentityBackend({
      identity: options.identity,
      developerCredential: options.developerCredential,
      environment: options.environment,
      requestTimeoutMs,
      now,
      ...(workloadIdentity ? { workloadIdentity } : {}),
    });
  });
}

/** In developer mode a half-set AKS environment is not an error: the chain moves on to other credentials. */
function resolveDeveloperWorkloadIdentity(
  options: ResolvedProviderOptions,
): WorkloadIdentitySettings | undefined {
  try {
    return resolveWorkloadIdentity(options.environment, options.identity);
  } catch {
    return undefined;
  }
}

function scopeError(scopes: unknown): ConfigurationError {
  const count = Array.isArray(scopes) ? scopes.length : 0;
  return new ConfigurationError(
    `getToken takes exactly one non-empty scope for a managed identity (got ${Array.isArray(scopes) ? `${count} scopes` : typeof scopes})`,
    { hint: "pass one scope such as 'https://storage.azure.com/.default'" },
  );
}

type AbortSignalLike = NonNullable<GetTokenOptions['abortSignal']>;

/** Lets one caller stop waiting without cancelling the request other callers share. */
function abortable<T>(flight: Promise<T>, signal: AbortSignalLike): Promise<T> {
  const reason = () => (signal as { reason?: unknown }).reason ?? new Error('The token request was aborted');
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    flight.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
