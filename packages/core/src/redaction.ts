/** What a redacted value shows instead of itself. */
export const REDACTED = '[REDACTED]';

/**
 * Longest text an error keeps. A driver may echo a whole statement or value into its message
 * (PostgreSQL quotes the offending value); keeping 140 KB of it in a keyless error helps nobody
 * and makes every later print and redaction pass pay for it.
 */
export const maxErrorTextLength = 4096;

/** How many registered secrets are remembered: the newest win (a token from yesterday has expired). */
export const maxKnownSecrets = 256;

/**
 * Counts the characters the JWT scan looked at, so a test can prove the work is linear in the
 * input instead of timing it. Internal: not exported from the package root.
 */
export interface RedactionMeter {
  steps: number;
}

// Both patterns start only at a literal keyword, and each quantified class is followed by a
// character outside it, so a failed attempt never re-reads more than its own keyword's run: the
// work is linear in the text. (The JWT pattern had no such anchor — `eyJ` repeated 47,000 times
// took 7.5 s — and is a hand-written scan below instead.)
const bearerPattern = /(Bearer\s+)[A-Za-z0-9._~+/=-]{16,}/gi;
// `password=…`, `"access_token":"…"` and the like in connection strings or JSON bodies.
const namedSecretPattern =
  /((?:access_token|refresh_token|client_secret|password|pwd|secret|sig|AccountKey)["']?\s*[:=]\s*["']?)[^"'\s;&,}]+/gi;

/** Removes anything that looks like a token or a secret from free text (error messages, logs). */
export function redactText(text: string): string {
  return redactTextCounting(text);
}

/** `redactText`, counting the JWT scan's work into `meter` (internal: for the linearity test). */
export function redactTextCounting(text: string, meter?: RedactionMeter): string {
  return redactJwts(text, meter)
    .replace(bearerPattern, `$1${REDACTED}`)
    .replace(namedSecretPattern, `$1${REDACTED}`);
}

function isBase64UrlCode(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || // 0-9
    (code >= 65 && code <= 90) || // A-Z
    (code >= 97 && code <= 122) || // a-z
    code === 45 || // -
    code === 95 // _
  );
}

/**
 * Replaces every JWT (`eyJ` + at least 4 more characters, a dot, at least 4, a dot, any) with
 * REDACTED. One pass over the text: it walks runs of base64url characters and dots, splits each
 * run at its dots once, and tests each dot-separated part in constant time.
 */
function redactJwts(text: string, meter?: RedactionMeter): string {
  if (!text.includes('eyJ')) return text;
  let result = '';
  let copiedUpTo = 0;
  let position = 0;
  const length = text.length;
  while (position < length) {
    // Skip to the next run of [A-Za-z0-9_-.].
    while (position < length && !isRunCode(text.charCodeAt(position))) position += 1;
    const runStart = position;
    while (position < length && isRunCode(text.charCodeAt(position))) position += 1;
    if (meter) meter.steps += position - runStart + 1;
    if (position - runStart < 13) continue; // shorter than the smallest JWT
    // Parts of the run between dots: [start, end) pairs.
    const parts: number[] = [];
    let partStart = runStart;
    for (let index = runStart; index <= position; index += 1) {
      if (index === position || text.charCodeAt(index) === 46) {
        parts.push(partStart, index);
        partStart = index + 1;
      }
    }
    if (meter) meter.steps += position - runStart;
    for (let part = 0; part + 2 < parts.length / 2; part += 1) {
      const start = parts[part * 2] as number;
      const end = parts[part * 2 + 1] as number;
      // The first `eyJ` of a part leaves the most characters after it.
      const header = firstHeaderIn(text, start, end - 7, meter);
      if (header === -1) continue;
      const payloadLength = (parts[part * 2 + 3] as number) - (parts[part * 2 + 2] as number);
      if (payloadLength < 4) continue;
      const signatureEnd = parts[part * 2 + 5] as number;
      result += text.slice(copiedUpTo, header) + REDACTED;
      copiedUpTo = signatureEnd;
      part += 2;
    }
  }
  return copiedUpTo === 0 ? text : result + text.slice(copiedUpTo);
}

/** Index of the first `eyJ` starting in [from, last], or -1; looks only inside that range. */
function firstHeaderIn(text: string, from: number, last: number, meter?: RedactionMeter): number {
  for (let index = from; index <= last; index += 1) {
    if (meter) meter.steps += 1;
    // e=101 y=121 J=74
    if (
      text.charCodeAt(index) === 101 &&
      text.charCodeAt(index + 1) === 121 &&
      text.charCodeAt(index + 2) === 74
    ) {
      return index;
    }
  }
  return -1;
}

function isRunCode(code: number): boolean {
  return code === 46 || isBase64UrlCode(code);
}

/**
 * Secret values we know of, besides anything token-shaped. A connector registers each password it
 * reads so that driver errors quoting it are scrubbed too. Insertion order is recency order.
 */
const knownSecretsKey = Symbol.for('@keyless/core.knownSecrets.v1');
// On globalThis, like the token cache: a secret one copy of @keyless/core registered must be
// scrubbed by the other copy's errors too.
const secretsHolder = globalThis as { [knownSecretsKey]?: Set<string> };
secretsHolder[knownSecretsKey] ??= new Set<string>();
const knownSecrets: Set<string> = secretsHolder[knownSecretsKey];

/**
 * Makes `redactKnownSecrets` hide this value from now on (values shorter than 6 characters are
 * ignored). Only the newest `maxKnownSecrets` are kept, so a long-running process that rotates
 * tokens every hour neither grows this set nor makes each redaction slower.
 */
export function registerSecretForRedaction(secret: string): void {
  if (secret.length < 6) return;
  knownSecrets.delete(secret);
  knownSecrets.add(secret);
  if (knownSecrets.size > maxKnownSecrets) {
    const oldest = knownSecrets.values().next().value;
    if (oldest !== undefined) knownSecrets.delete(oldest);
  }
}

/** `redactText`, plus every value registered with `registerSecretForRedaction`. */
export function redactKnownSecrets(text: string): string {
  let result = redactText(text);
  for (const secret of knownSecrets) {
    if (result.includes(secret)) result = result.replaceAll(secret, REDACTED);
  }
  return result;
}

/**
 * Text for an error message: at most `maxErrorTextLength` characters (the rest is counted, not
 * kept), then redacted. Cutting first bounds the work of every later step.
 */
export function boundedErrorText(text: string): string {
  const bounded =
    text.length <= maxErrorTextLength
      ? text
      : `${text.slice(0, maxErrorTextLength)}… (${text.length - maxErrorTextLength} more characters)`;
  return redactKnownSecrets(bounded);
}

/**
 * Hides `property` of `target` from JSON.stringify, util.inspect (even with showHidden), spread and
 * structuredClone-style copies that walk enumerable keys, while keeping `target[property]` readable
 * by code that asks for it (the Azure SDK reads `accessToken.token`).
 */
export function defineSecretProperty<T extends object>(target: T, property: string, value: string): void {
  Object.defineProperty(target, property, { value, enumerable: false, writable: false, configurable: false });
}

/**
 * Gives an object a JSON and inspect view without the named secret properties; `label` (e.g.
 * `SqlConnector`) prefixes the inspect view as a class name would.
 */
/** `util.inspect.custom`, which Node defines as this registered symbol. */
const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

export function installRedactedViews(
  target: object,
  describe: () => Record<string, unknown>,
  label?: string,
): void {
  Object.defineProperty(target, 'toJSON', { value: describe, enumerable: false });
  // The symbol and the inspect function Node passes to the hook, instead of importing node:util:
  // loading it costs a cold process a few milliseconds before the first token (issue 11).
  Object.defineProperty(target, inspectCustom, {
    value: (_depth: number, options: object, inspect: (value: unknown, options: object) => string) => {
      const view = inspect(describe(), options);
      return label === undefined ? view : `${label} ${view}`;
    },
    enumerable: false,
  });
}
