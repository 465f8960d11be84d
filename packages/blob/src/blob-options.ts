import type { StoragePipelineOptions } from '@azure/storage-blob';
import type { TokenProvider } from '@keyless/core';
import { resolveServiceUrl } from '@keyless/core/internal';

/** Options of `createBlobConnector()`; the account URL may come from the environment instead. */
export interface BlobConnectorOptions {
  /** e.g. https://<account>.blob.core.windows.net — else env KEYLESS_BLOB_ACCOUNT_URL (what keyless-local prints) */
  accountUrl?: string;
  /** the shared provider; built with createTokenProvider() from the environment when omitted (and then closed by close()) */
  tokenProvider?: TokenProvider;
  /**
   * The pipeline options of the connector's BlobServiceClient (StoragePipelineOptions: retries, user
   * agent, proxy, …). Anything that weakens TLS verification, at any depth, and a custom
   * `httpClient` are refused with ConfigurationError.
   */
  clientOptions?: BlobPipelineOptions;
}

/**
 * `StoragePipelineOptions`, plus the one TLS setting keyless accepts: a CA to trust. The SDK passes
 * `tlsOptions` on to its HTTP pipeline (from @azure/storage-blob 12.23, when it moved to
 * @azure/core-rest-pipeline); its types do not list it. Not the SDK's `BlobClientOptions`, which
 * configure a client for one blob.
 */
export type BlobPipelineOptions = StoragePipelineOptions & {
  tlsOptions?: {
    /** PEM certificate(s) of the CA that issued the account's certificate; replaces Node's default trust store for these requests. The host name is still checked. */
    ca?: string | Buffer | Array<string | Buffer>;
  };
};

/** The option that adds a CA, named by the untrusted-certificate error. */
export const caOption = 'clientOptions.tlsOptions.ca';

export const accountUrlOption = 'accountUrl';
export const accountUrlVariable = 'KEYLESS_BLOB_ACCOUNT_URL';

const example = 'https://<account>.blob.core.windows.net';

/** Options first, environment second; a bad or missing value fails here, not at the first request. */
export function resolveAccountUrl(value: unknown, environment = process.env): string {
  return resolveServiceUrl({
    service: 'Blob Storage account',
    example,
    option: accountUrlOption,
    variable: accountUrlVariable,
    value,
    environment,
    // Azurite speaks http too; a Blob endpoint may carry a path (`…/devstoreaccount1`).
    allowLoopbackHttp: true,
    keepPath: true,
    whereToFind: '`keyless-local up blob` prints it for the local stack',
  });
}

export { resolveTokenProviderOption } from '@keyless/core/internal';
