import type { RequestPolicy, RequestPolicyFactory, WebResource } from '@azure/storage-blob';
import type { Environment } from '@keyless/core';
import { assertNoWeakenedTls, assertUrlDestination } from '@keyless/core/internal';

export const blobService = 'Blob Storage';

/**
 * The rule (see @keyless/core's transport-security): the bearer token leaves the process only over
 * TLS verified against a trusted CA and the account's name, or to loopback. At construction this
 * refuses every option that would weaken that — at any depth of the options, whatever the types
 * allowed (`clientOptions.tlsOptions.rejectUnauthorized`, a custom `httpClient`, …) — and a
 * destination the rule forbids.
 */
export function assertBlobTransport(options: object, accountUrl: string, environment: Environment): void {
  assertNoWeakenedTls(options, '', { service: blobService });
  assertBlobDestination(accountUrl, environment);
}

/** Plain http to another machine, or any host but loopback while NODE_TLS_REJECT_UNAUTHORIZED=0. */
export function assertBlobDestination(url: string, environment: Environment): void {
  assertUrlDestination(
    {
      service: blobService,
      url,
      urlSetting: 'option `accountUrl` / KEYLESS_BLOB_ACCOUNT_URL',
      tlsHint: 'use the https endpoint (https://<account>.blob.core.windows.net)',
    },
    environment,
  );
}

/**
 * The same destination check on every operation, because Node reads NODE_TLS_REJECT_UNAUTHORIZED
 * at every TLS connection: a process that set it after the connector was created would otherwise
 * send the token to whoever answers. A Storage `RequestPolicyFactory`, the Pipeline's public
 * extension point (`newPipeline(…).factories`), rather than `additionalPolicies`: every client the
 * service client derives (`getContainerClient`, `getBlobClient`, …) builds its client from the same
 * pipeline options, and would add such a policy to the shared pipeline once more each time. A
 * factory is wrapped into the pipeline once. It runs once per operation, before the SDK's retries.
 */
export function secretDestinationGuard(environment: () => Environment): RequestPolicyFactory {
  return {
    create: (nextPolicy: RequestPolicy): RequestPolicy => ({
      sendRequest(request: WebResource) {
        try {
          assertBlobDestination(request.url, environment());
        } catch (error) {
          return Promise.reject(error);
        }
        return nextPolicy.sendRequest(request);
      },
    }),
  };
}
