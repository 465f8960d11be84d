import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { activeExchange, readErrorBody } from './response-recorder.js';

/**
 * MSAL's HTTP layer, replaced so we see the endpoint's status and Retry-After (MSAL's errors keep
 * neither) and so a dead endpoint cannot hang a caller for minutes.
 */
/** `signal`, also aborted when `other` is. */
export function withAbort(signal: AbortSignal, other: AbortSignal | undefined): AbortSignal {
  return other ? AbortSignal.any([signal, other]) : signal;
}

export class RecordingNetworkClient implements INetworkModule {
  constructor(private readonly timeoutMs: number) {}

  sendGetRequestAsync<T>(
    url: string,
    options?: NetworkRequestOptions,
    timeout?: number,
  ): Promise<NetworkResponse<T>> {
    return this.#send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.#send<T>('POST', url, options);
  }

  async #send<T>(
    method: string,
    url: string,
    options?: NetworkRequestOptions,
    timeout?: number,
  ): Promise<NetworkResponse<T>> {
    const exchange = activeExchange();
    if (exchange) exchange.url = url;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: options?.headers ?? {},
        ...(options?.body === undefined ? {} : { body: options.body }),
        signal: withAbort(AbortSignal.timeout(timeout ?? this.timeoutMs), exchange?.abortSignal),
      });
    } catch (error) {
      if (exchange) exchange.networkError = error as Error;
      throw error;
    }
    const text = await response.text();
    let body: unknown = {};
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      // Not JSON: MSAL gets an empty body and fails validation; the status says the rest.
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (exchange) {
      exchange.status = response.status;
      exchange.retryAfter = response.headers.get('retry-after') ?? undefined;
      if (response.status >= 400) Object.assign(exchange, readErrorBody(body));
    }
    return { status: response.status, headers, body: body as T };
  }
}
