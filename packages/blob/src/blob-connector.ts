import { BlobServiceClient, type ContainerClient, newPipeline } from '@azure/storage-blob';
import { ClosedError, ConfigurationError, createTokenProvider, type TokenProvider } from '@keyless/core';
import {
  installRedactedViews,
  Readiness,
  warnAboutCredentialPrintingDebugOutput,
} from '@keyless/core/internal';
import { mapBlobError, storageAudience } from './blob-error-mapping.js';
import { type BlobConnectorOptions, resolveAccountUrl, resolveTokenProviderOption } from './blob-options.js';
import { assertBlobTransport, secretDestinationGuard } from './blob-transport-guard.js';

/** Options of `connector.connect()`. */
export interface BlobConnectOptions {
  /**
   * Check this container (Get Container Properties) instead of the account (List Containers):
   * for an identity whose Storage Blob Data role is assigned on one container only, which cannot
   * list the account's containers.
   */
  container?: string;
}

/** What `createBlobConnector()` returns: the SDK's own client with the shared provider, and a lifetime. */
export interface BlobConnector {
  /** The SDK's BlobServiceClient with the shared provider; created on first access. */
  readonly client: BlobServiceClient;
  /** The SDK's `ContainerClient` for the container `name` (`client.getContainerClient(name)`). */
  containerClient(name: string): ContainerClient;
  /**
   * Runs `operation(client)` and maps the errors keyless can explain (identity, role, token,
   * certificate, reachability) to keyless errors; anything else, such as a 404, is rethrown unchanged.
   */
  run<T>(operation: (client: BlobServiceClient) => Promise<T>): Promise<T>;
  /**
   * For a fail-fast start-up: gets a token for Storage and makes one cheap authenticated request —
   * List Containers with at most one result, or Get Container Properties when `container` is
   * given — so that a missing identity or role, a wrong account URL, an untrusted certificate or an
   * unreachable account fails here with the typed error `run()` would give. The factory itself
   * never does I/O.
   */
  connect(options?: BlobConnectOptions): Promise<void>;
  /**
   * For a readiness probe (App Service health check, Kubernetes readinessProbe): the first call is
   * `connect(options)`; once that has succeeded, a call only checks that a Storage token is cached
   * (no request while it is valid), so a probe every few seconds does not load the account. Rejects
   * with the typed error when not ready; the next call then runs `connect()` again.
   */
  ready(options?: BlobConnectOptions): Promise<void>;
  /** Idempotent; after it, client/containerClient throw and run/connect reject ClosedError (code 'closed'). */
  close(): Promise<void>;
}

/**
 * Blob Storage with the shared managed-identity provider. Thin on purpose: the client is the
 * SDK's own `BlobServiceClient`; keyless only supplies the credential, validated configuration,
 * typed errors through `run`, and a lifetime. Synchronous and lazy: nothing is sent until the
 * first operation (or `connect()`).
 */
export function createBlobConnector(options: BlobConnectorOptions = {}): BlobConnector {
  warnAboutCredentialPrintingDebugOutput();
  const accountUrl = resolveAccountUrl(options.accountUrl);
  assertBlobTransport(options, accountUrl, process.env);
  const givenProvider = resolveTokenProviderOption(options.tokenProvider);
  const ownsProvider = givenProvider === undefined;
  const tokenProvider = givenProvider ?? createTokenProvider();
  return new KeylessBlobConnector(accountUrl, tokenProvider, ownsProvider, options);
}

class KeylessBlobConnector implements BlobConnector {
  readonly #accountUrl: string;
  readonly #tokenProvider: TokenProvider;
  readonly #ownsProvider: boolean;
  readonly #clientOptions: BlobConnectorOptions['clientOptions'];
  #client: BlobServiceClient | undefined;
  #readiness: Readiness | undefined;
  #closed = false;

  constructor(
    accountUrl: string,
    tokenProvider: TokenProvider,
    ownsProvider: boolean,
    options: BlobConnectorOptions,
  ) {
    this.#accountUrl = accountUrl;
    this.#tokenProvider = tokenProvider;
    this.#ownsProvider = ownsProvider;
    this.#clientOptions = options.clientOptions;
    // What console.log, util.inspect and JSON.stringify show: the account and the token backend.
    installRedactedViews(
      this,
      () => ({ accountUrl: this.#accountUrl, backend: this.#backend() }),
      'BlobConnector',
    );
  }

  get client(): BlobServiceClient {
    if (this.#closed) throw new ClosedError('BlobConnector');
    this.#client ??= new BlobServiceClient(this.#accountUrl, this.#pipeline());
    return this.#client;
  }

  /** What `new BlobServiceClient(url, provider, clientOptions)` builds, plus the per-operation destination check. */
  #pipeline() {
    const pipeline = newPipeline(this.#tokenProvider, this.#clientOptions);
    pipeline.factories.push(secretDestinationGuard(() => process.env));
    return pipeline;
  }

  containerClient(name: string): ContainerClient {
    return this.client.getContainerClient(name);
  }

  async run<T>(operation: (client: BlobServiceClient) => Promise<T>): Promise<T> {
    const client = this.client;
    try {
      return await operation(client);
    } catch (error) {
      throw mapBlobError(error, { accountUrl: this.#accountUrl });
    }
  }

  /**
   * Data-plane requests only, so that a Storage Blob Data role is all it needs. List Containers
   * needs `…/blobServices/containers/read` on the account, which Storage Blob Data Reader,
   * Contributor and Owner include; Get Account Information (`…/blobServices/getInfo/action`) and Get
   * Blob Service Properties (`…/blobServices/read`) need actions those roles lack
   * (https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory#permissions-for-blob-service-operations).
   * The pipeline asks the provider for the token with the scope the client uses.
   */
  async connect(options: BlobConnectOptions = {}): Promise<void> {
    const client = this.client;
    const container = options?.container;
    if (container !== undefined && (typeof container !== 'string' || container.trim() === '')) {
      throw new ConfigurationError('Invalid option `container` of connect(): expected a container name', {
        hint: 'pass the name of a container the identity has a Storage Blob Data role on, or omit it to check the account',
      });
    }
    try {
      if (container === undefined) await client.listContainers().byPage({ maxPageSize: 1 }).next();
      else await client.getContainerClient(container).getProperties();
    } catch (error) {
      throw mapBlobError(error, { accountUrl: this.#accountUrl, listingContainers: container === undefined });
    }
  }

  ready(options: BlobConnectOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('BlobConnector'));
    this.#readiness ??= new Readiness(
      () => this.connect(options),
      async () => {
        // The scope the SDK's pipeline asks for: a cache hit while the token is valid.
        await this.#tokenProvider.getToken(storageAudience);
      },
    );
    return this.#readiness.check();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client = undefined;
    if (this.#ownsProvider) await this.#tokenProvider.close();
  }

  /** A caller may pass any TokenCredential-shaped provider; only a keyless one names its backend. */
  #backend(): string {
    const backend: unknown = (this.#tokenProvider as { backend?: unknown }).backend;
    return typeof backend === 'string' ? backend : 'custom';
  }
}
