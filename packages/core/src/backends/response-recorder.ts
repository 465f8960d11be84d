import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What the identity endpoint actually answered during one backend call. The libraries wrap
 * failures in their own errors (azure-identity turns even a 403 into CredentialUnavailableError)
 * and drop headers, so the HTTP layer we hand them records status and Retry-After here, and the
 * error mapping reads it. AsyncLocalStorage ties the record to the call that caused the request.
 */
export interface EndpointExchange {
  url?: string;
  status?: number;
  retryAfter?: string | undefined;
  /** The endpoint's `error` / `error_description`, when it sent JSON. */
  errorCode?: string | undefined;
  errorDescription?: string | undefined;
  /** Set when the request never got an answer (connection refused, reset, timeout). */
  networkError?: Error;
  /**
   * Aborts the request when nobody wants its answer any more (every provider holding the token
   * closed). The HTTP layers we hand the libraries read it, as the libraries' own APIs cannot
   * pass one through.
   */
  abortSignal?: AbortSignal;
}

const currentExchange = new AsyncLocalStorage<EndpointExchange>();

export function recordExchange<T>(exchange: EndpointExchange, work: () => Promise<T>): Promise<T> {
  return currentExchange.run(exchange, work);
}

export function activeExchange(): EndpointExchange | undefined {
  return currentExchange.getStore();
}

/** Reads `{error, error_description}` (or App Service's `{statusCode, message}`) from an error body. */
export function readErrorBody(body: unknown): Pick<EndpointExchange, 'errorCode' | 'errorDescription'> {
  if (body === null || typeof body !== 'object') return {};
  const record = body as Record<string, unknown>;
  const error = record.error;
  if (typeof error === 'string') {
    return {
      errorCode: error,
      errorDescription: typeof record.error_description === 'string' ? record.error_description : undefined,
    };
  }
  if (error && typeof error === 'object') {
    const nested = error as Record<string, unknown>;
    return {
      errorCode: typeof nested.code === 'string' ? nested.code : undefined,
      errorDescription: typeof nested.message === 'string' ? nested.message : undefined,
    };
  }
  return { errorDescription: typeof record.message === 'string' ? record.message : undefined };
}
