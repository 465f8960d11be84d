import { inspect } from 'node:util';

/** What a redacted value shows instead of itself. */
export const REDACTED = '[REDACTED]';

// JWTs (three base64url parts, header starting with `{"` → `eyJ`) and `Bearer …` credentials.
const jwtPattern = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const bearerPattern = /(Bearer\s+)[A-Za-z0-9._~+/=-]{16,}/gi;
// `password=…`, `"access_token":"…"` and the like in connection strings or JSON bodies.
const namedSecretPattern =
  /((?:access_token|refresh_token|client_secret|password|pwd|secret|sig|AccountKey)["']?\s*[:=]\s*["']?)[^"'\s;&,}]+/gi;

/** Removes anything that looks like a token or a secret from free text (error messages, logs). */
export function redactText(text: string): string {
  return text
    .replace(jwtPattern, REDACTED)
    .replace(bearerPattern, `$1${REDACTED}`)
    .replace(namedSecretPattern, `$1${REDACTED}`);
}

/**
 * Secret values we know of, besides anything token-shaped. A connector registers each password it
 * reads so that driver errors quoting it are scrubbed too.
 */
const knownSecrets = new Set<string>();

/** Makes `redactKnownSecrets` hide this value from now on (values shorter than 6 characters are ignored). */
export function registerSecretForRedaction(secret: string): void {
  if (secret.length >= 6) knownSecrets.add(secret);
}

/** `redactText`, plus every value registered with `registerSecretForRedaction`. */
export function redactKnownSecrets(text: string): string {
  let result = redactText(text);
  for (const secret of knownSecrets) {
    if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  return result;
}

/**
 * Hides `property` of `target` from JSON.stringify, util.inspect (even with showHidden), spread and
 * structuredClone-style copies that walk enumerable keys, while keeping `target[property]` readable
 * by code that asks for it (the Azure SDK reads `accessToken.token`).
 */
export function defineSecretProperty<T extends object>(target: T, property: string, value: string): void {
  Object.defineProperty(target, property, { value, enumerable: false, writable: false, configurable: false });
}

/** Gives an object a JSON and inspect view without the named secret properties. */
export function installRedactedViews(target: object, describe: () => Record<string, unknown>): void {
  Object.defineProperty(target, 'toJSON', { value: describe, enumerable: false });
  Object.defineProperty(target, inspect.custom, {
    value: (_depth: number, options: object) => inspect(describe(), options),
    enumerable: false,
  });
}
