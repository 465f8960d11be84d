import { randomUUID } from 'node:crypto';

/**
 * An error answered the way Azure Storage answers one: the status, the `x-ms-error-code` header
 * (which the SDK reads into `RestError.code`, also for HEAD requests, which have no body) and the
 * XML body `<Error><Code>…</Code><Message>…\nRequestId:…\nTime:…</Message>…</Error>`
 * (https://learn.microsoft.com/rest/api/storageservices/status-and-error-codes2).
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  readonly details: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { headers?: Record<string, string>; details?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
    this.details = options.details ?? {};
  }

  /** The headers and XML body of the answer, with a fresh request id. */
  answer(): { headers: Record<string, string>; body: string } {
    const requestId = randomUUID();
    const details = Object.entries(this.details)
      .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
      .join('');
    const body = `\uFEFF<?xml version="1.0" encoding="utf-8"?><Error><Code>${this.code}</Code><Message>${escapeXml(
      `${this.message}\nRequestId:${requestId}\nTime:${new Date().toISOString()}`,
    )}</Message>${details}</Error>`;
    return {
      headers: {
        ...this.headers,
        'Content-Type': 'application/xml',
        'x-ms-error-code': this.code,
        'x-ms-request-id': requestId,
      },
      body,
    };
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
