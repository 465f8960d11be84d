import type { Environment } from './settings.js';

/**
 * Switches that make the libraries under keyless print credentials in full. keyless cannot filter
 * what they write to stderr; it can say so once, where it matters (production), before anything is
 * sent:
 * - `DEBUG` naming ioredis (or `*`): ioredis logs every command with its arguments, `AUTH` included.
 * - `NODE_DEBUG` naming http, https, net, tls, http2, fetch or undici: Node logs requests and
 *   sockets, including `Authorization: Bearer …` and the App Service `X-IDENTITY-HEADER`.
 */
const leakingNodeDebugModules = ['http', 'https', 'http2', 'net', 'tls', 'fetch', 'undici'];

/** Which debug switches in `environment` print credentials; empty when none. */
export function credentialPrintingDebugSwitches(environment: Environment): string[] {
  const found: string[] = [];
  const debug = environment.DEBUG ?? '';
  const debugNamespaces = debug.split(/[\s,]+/).filter((namespace) => namespace !== '');
  if (debugNamespaces.some((namespace) => namespace === '*' || /^ioredis(?::|\*|$)/.test(namespace))) {
    found.push(`DEBUG=${debug}`);
  }
  const nodeDebug = (environment.NODE_DEBUG ?? '')
    .toLowerCase()
    .split(/[\s,]+/)
    .filter((module) => module !== '');
  const leaking = nodeDebug.filter((module) => leakingNodeDebugModules.includes(module) || module === '*');
  if (leaking.length > 0) found.push(`NODE_DEBUG=${environment.NODE_DEBUG}`);
  return found;
}

// Once per process, not per installed copy of @keyless/core.
const warnedKey = Symbol.for('@keyless/core.debugOutputWarned');

/**
 * Emits one process warning (code `KEYLESS_DEBUG_OUTPUT`) when NODE_ENV=production and a switch
 * above is on. Connectors call it when they are created; only the first call can warn.
 */
export function warnAboutCredentialPrintingDebugOutput(environment: Environment = process.env): void {
  const holder = globalThis as { [warnedKey]?: boolean };
  if (holder[warnedKey] || environment.NODE_ENV !== 'production') return;
  const switches = credentialPrintingDebugSwitches(environment);
  if (switches.length === 0) return;
  holder[warnedKey] = true;
  process.emitWarning(
    `${switches.join(' and ')} make the libraries keyless uses print passwords and tokens in full (their own debug logs, which keyless cannot filter); unset them in production`,
    { code: 'KEYLESS_DEBUG_OUTPUT' },
  );
}
