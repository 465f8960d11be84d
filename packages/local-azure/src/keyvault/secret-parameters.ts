import { badParameter } from './key-vault-errors.js';
import type { SecretAttributesInput, SecretVersionInput } from './secret-store.js';

const secretNamePattern = /^[0-9a-zA-Z-]{1,127}$/;
// Azure's documented limit for a secret value.
const maximumValueBytes = 25 * 1024;

export function assertSecretName(name: string): void {
  if (!secretNamePattern.test(name)) {
    throw badParameter(
      `The request URI contains an invalid name: ${name}. Secret names are 1-127 characters: letters, digits and dashes.`,
    );
  }
}

/** The body of `PUT /secrets/{name}`: `{ value, contentType?, attributes?, tags? }`. */
export function readSetParameters(body: Record<string, unknown>): { value: string } & SecretVersionInput {
  const { value } = body;
  if (typeof value !== 'string') throw badParameter("Property 'value' is required and must be a string.");
  if (Buffer.byteLength(value, 'utf8') > maximumValueBytes) {
    throw badParameter(`The secret value is larger than the maximum of ${maximumValueBytes} bytes.`);
  }
  return { value, ...readVersionInput(body) };
}

/** The body of `PATCH /secrets/{name}/{version}`: `{ contentType?, attributes?, tags? }`. */
export function readUpdateParameters(body: Record<string, unknown>): SecretVersionInput {
  return readVersionInput(body);
}

function readVersionInput(body: Record<string, unknown>): SecretVersionInput {
  const input: SecretVersionInput = {};
  const { contentType, tags, attributes } = body;
  if (contentType !== undefined && contentType !== null) {
    if (typeof contentType !== 'string') throw badParameter("Property 'contentType' must be a string.");
    input.contentType = contentType;
  }
  if (tags !== undefined && tags !== null) input.tags = readTags(tags);
  if (attributes !== undefined && attributes !== null) input.attributes = readAttributes(attributes);
  return input;
}

function readTags(tags: unknown): Record<string, string> {
  if (typeof tags !== 'object' || Array.isArray(tags) || tags === null) {
    throw badParameter("Property 'tags' must be an object of strings.");
  }
  const entries = Object.entries(tags);
  for (const [, tagValue] of entries) {
    if (typeof tagValue !== 'string') throw badParameter("Property 'tags' must be an object of strings.");
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function readAttributes(attributes: unknown): SecretAttributesInput {
  if (typeof attributes !== 'object' || Array.isArray(attributes) || attributes === null) {
    throw badParameter("Property 'attributes' must be an object.");
  }
  const { enabled, nbf, exp } = attributes as Record<string, unknown>;
  const result: SecretAttributesInput = {};
  if (enabled !== undefined && enabled !== null) {
    if (typeof enabled !== 'boolean') throw badParameter("Property 'attributes.enabled' must be a boolean.");
    result.enabled = enabled;
  }
  const notBefore = unixSeconds(nbf, 'nbf');
  if (notBefore !== undefined) result.notBefore = notBefore;
  const expires = unixSeconds(exp, 'exp');
  if (expires !== undefined) result.expires = expires;
  return result;
}

function unixSeconds(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw badParameter(`Property 'attributes.${name}' must be an integer (unix seconds).`);
  }
  return value;
}
