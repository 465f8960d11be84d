/**
 * The canaries `npm test` scans for (scripts/quickstart.mjs): the local stack's seeded secret
 * marker and any JWT (every token the identity endpoint mints is one). The smoke script's output
 * is checked here too, so a leak fails this package's own test, not only the full run.
 */
const canaries = [
  { name: 'the canary secret', pattern: /keyless-canary-secret/ },
  { name: 'a token (JWT)', pattern: /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/ },
];

/** Names of the canaries found in `text`; empty when it is clean. */
export function findLeaks(text: string): string[] {
  return canaries.filter((canary) => canary.pattern.test(text)).map((canary) => canary.name);
}
