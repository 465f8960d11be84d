import { BlobServiceClient, type ContainerClient, newPipeline } from '@azure/storage-blob';
import { ClosedError, createTokenProvider, type TokenProvider } from '@keyless/core';
import { warnAboutCredentialPrintingDebugOutput } from '@keyless/core/internal';
import { mapBlobError } from './blob-error-mapping.js';
import { type BlobConnectorOptions, resolveAccountUrl } from './blob-options.js';
import { assertBlobTransport, secretDestinationGuard } from './blob-transport-guard.js';

/** What `createBlobConnector()` returns: the SDK's own client with the shared provider, and a lifetime. */
export interface BlobConnector {
  /** Created lazily on first access. */
  readonly client: BlobServiceClient;
  /** The SDK's `ContainerClient` for `name`, from the same client. */
  container(name: string): ContainerClient;
  /** Runs an operation and maps native errors to keyless errors. Optional helper used by apps that want typed errors. */
  run<T>(operation: (client: BlobServiceClient) => Promise<T>): Promise<T>;
  /** Idempotent; after it, client/container/run throw/reject ClosedError (code 'closed'). */
  close(): Promise<void>;
}

/**
 * Blob Storage with the shared managed-identity provider. Thin on purpose: the client is the
 * SDK's own `BlobServiceClient`; keyless only supplies the credential, validated configuration,
 * typed errors through `run`, and a lifetime.
 */
export function createBlobConnector(options: BlobConnectorOptions = {}): BlobConnector {
  warnAboutCredentialPrintingDebugOutput();
  const accountUrl = resolveAccountUrl(options.accountUrl);
  assertBlobTransport(options, accountUrl, process.env);
  const ownsProvider = options.tokenProvider === undefined;
  const tokenProvider = options.tokenProvider ?? createTokenProvider();
  return new KeylessBlobConnector(accountUrl, tokenProvider, ownsProvider, options);
}

class KeylessBlobConnector implements BlobConnector {
  readonly #accountUrl: string;
  readonly #tokenProvider: TokenProvider;
  readonly #ownsProvider: boolean;
  readonly #clientOptions: BlobConnectorOptions['clientOptions'];
  #client: BlobServiceClient | undefined;
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

  container(name: string): ContainerClient {
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

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client = undefined;
    if (this.#ownsProvider) await this.#tokenProvider.close();
  }

  toJSON(): Record<string, unknown> {
    return { accountUrl: this.#accountUrl, backend: this.#backend() };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `BlobConnector { accountUrl: '${this.#accountUrl}', backend: '${this.#backend()}' }`;
  }

  /** A caller may pass any TokenCredential-shaped provider; only a keyless one names its backend. */
  #backend(): string {
    const backend: unknown = (this.#tokenProvider as { backend?: unknown }).backend;
    return typeof backend === 'string' ? backend : 'custom';
  }
}
