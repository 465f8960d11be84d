import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

/** What the error-mapping group plants in native errors, fresh for every row. */
export interface Canaries {
  /** JWT-shaped, like every token the identity endpoint mints (core redacts this shape). */
  token: string;
  /** Shaped like the stack's canary secret (no redaction knows it: only the mapping can keep it out). */
  secret: string;
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/**
 * New canaries. They carry the markers the project's test gate looks for, so a leak that escapes
 * into printed output also fails `npm test`, besides failing the check.
 */
export function makeCanaries(): Canaries {
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const payload = base64url(
    JSON.stringify({ aud: 'keyless-canary', nonce: randomBytes(12).toString('hex') }),
  );
  return {
    token: `${header}.${payload}.${base64url(randomBytes(32))}`,
    secret: `keyless-canary-secret-${randomBytes(12).toString('hex')}`,
  };
}

/**
 * The parts of each canary that identify it: the whole canary, or a fragment of it (a message cut
 * at some length still shows the random part): the end of the payload (the nonce) and either end of
 * the signature. The JWT header and the payload's start are the same for every canary: they do not count.
 */
function fingerprints(canaries: Canaries): { name: string; parts: string[] }[] {
  const [, payload = '', signature = ''] = canaries.token.split('.');
  return [
    { name: 'the canary token', parts: [payload.slice(-20), signature.slice(0, 16), signature.slice(-16)] },
    { name: 'the canary secret', parts: [canaries.secret.slice('keyless-canary-secret-'.length)] },
  ];
}

/** Every way an application or a logger prints an error. */
export function errorViews(error: unknown): { view: string; text: string }[] {
  const views: { view: string; text: string }[] = [
    { view: 'inspect', text: inspect(error, { depth: 8 }) },
    { view: 'inspect with showHidden', text: inspect(error, { depth: 8, showHidden: true }) },
    { view: 'String()', text: safely(() => String(error)) },
    { view: 'JSON', text: safely(() => JSON.stringify(error) ?? '') },
  ];
  if (typeof error === 'object' && error !== null) {
    const { message, stack, hint, cause } = error as Record<string, unknown>;
    if (typeof message === 'string') views.push({ view: 'message', text: message });
    if (typeof stack === 'string') views.push({ view: 'stack', text: stack });
    if (typeof hint === 'string') views.push({ view: 'hint', text: hint });
    if (cause !== undefined) {
      views.push({
        view: 'cause (inspect with showHidden)',
        text: inspect(cause, { depth: 8, showHidden: true }),
      });
    }
  }
  return views;
}

/** Which views show which canary, by name only: `['the canary secret in message', …]`. */
export function canarySightings(error: unknown, canaries: Canaries): string[] {
  const sightings: string[] = [];
  for (const { view, text } of errorViews(error)) {
    for (const { name, parts } of fingerprints(canaries)) {
      if (parts.some((part) => part.length > 0 && text.includes(part))) sightings.push(`${name} in ${view}`);
    }
  }
  return sightings;
}

function safely(render: () => string): string {
  try {
    return render();
  } catch {
    // A throwing toJSON or toString shows nothing, so it cannot show a secret.
    return '';
  }
}
