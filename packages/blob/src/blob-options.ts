import type { StoragePipelineOptions } from '@azure/storage-blob';
import { ConfigurationError, resolveSetting, type TokenProvider } from '@keyless/core';
import { z } from 'zod';

export interface BlobConnectorOptions {
  /** e.g. https://<account>.blob.core.windows.net — else env KEYLESS_BLOB_ACCOUNT_URL (what keyless-local prints) */
  accountUrl?: string;
  /** the shared provider; built with createTokenProvider() from the environment when omitted (and then closed by close()) */
  tokenProvider?: TokenProvider;
  /** passed to BlobServiceClient (StoragePipelineOptions) */
  clientOptions?: StoragePipelineOptions;
}

export const accountUrlOption = 'accountUrl';
export const accountUrlVariable = 'KEYLESS_BLOB_ACCOUNT_URL';

const example = 'https://<account>.blob.core.windows.net';

/**
 * The value itself never appears in a message: a pasted URL may carry a SAS token, which is a
 * credential.
 */
const accountUrlSchema = z
  .string({ error: `expected a URL such as ${example}` })
  .transform((value, context) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      context.addIssue({ code: 'custom', message: `not a URL; expected one such as ${example}` });
      return z.NEVER;
    }
    if (url.search !== '' || url.username !== '' || url.password !== '') {
      context.addIssue({
        code: 'custom',
        message:
          'the account URL must not carry a query string or credentials (a SAS token or key is exactly what keyless replaces with the managed identity)',
      });
      return z.NEVER;
    }
    if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
      context.addIssue({
        code: 'custom',
        message: `http is allowed only for a loopback emulator (127.0.0.1, ::1, localhost); Azure Storage needs https, e.g. ${example}`,
      });
      return z.NEVER;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      context.addIssue({ code: 'custom', message: `expected an https URL such as ${example}` });
      return z.NEVER;
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  });

/** Options first, environment second; a bad or missing value fails here, not at the first request. */
export function resolveAccountUrl(value: unknown, environment = process.env): string {
  const resolved = resolveSetting(accountUrlSchema, {
    option: accountUrlOption,
    value,
    variables: [accountUrlVariable],
    environment,
  });
  if (resolved.value === undefined) {
    throw new ConfigurationError('No Blob Storage account URL is configured', {
      hint: `set the option \`${accountUrlOption}\` or the environment variable ${accountUrlVariable} to the account's blob endpoint, e.g. ${example} (\`keyless-local up blob\` prints it for the local stack)`,
    });
  }
  return resolved.value;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
