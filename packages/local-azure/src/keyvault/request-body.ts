import type { IncomingMessage } from 'node:http';
import { badParameter, KeyVaultError } from './key-vault-errors.js';

// A secret value is at most 25 KB; this leaves room for tags, attributes and JSON escaping.
export const maximumBodyBytes = 256 * 1024;

export class BodyTooLargeError extends KeyVaultError {
  constructor() {
    super(413, 'RequestEntityTooLarge', `The request body is larger than ${maximumBodyBytes} bytes.`);
  }
}

/** Reads and parses a JSON object body, refusing oversized ones before buffering them. */
export async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const declaredLength = Number(request.headers['content-length']);
  if (Number.isFinite(declaredLength) && declaredLength > maximumBodyBytes) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    received += buffer.length;
    if (received > maximumBodyBytes) throw new BodyTooLargeError();
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badParameter('The request body is not valid JSON.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw badParameter('The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}
