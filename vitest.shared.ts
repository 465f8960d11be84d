import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  sourceCondition,
  type TestKind,
  TestKindReader,
  testFilePattern,
  workspaceSourceOf,
} from './vitest.test-kinds.ts';

export { sourceCondition };

/**
 * The test settings every package shares. MSAL keeps the detected managed-identity source and its
 * token cache in static state, so every test file gets its own process (forks, isolated), with the
 * environment set before its first request.
 */
export const keylessTestDefaults = {
  include: [testFilePattern],
  pool: 'forks' as const,
  poolOptions: { forks: { isolate: true } },
  testTimeout: 30_000,
  hookTimeout: 30_000,
};

/**
 * Makes tests load `@keyless/*` from source. Every entry of every workspace package's `exports` has
 * a `@keyless/source` condition (first, so it wins) pointing at its TypeScript source
 * (`./src/index.ts`, …) instead of `dist`. Only vitest resolves with it, so a test sees a change in a
 * sibling package without a build; Node, tsc and the published manifests never do (pnpm pack
 * publishes `publishConfig.exports`, the same entries without it). Child processes a test spawns
 * (one-off scripts, the demo, the smoke script) run plain Node, so they still load `dist`: turbo's
 * test tasks build first.
 *
 * Tests run in the node environment, which vite resolves as SSR: `ssr.resolve.conditions` is the list
 * that applies there, `resolve.conditions` the one for the rest; vitest merges its defaults (`node`,
 * `development|production`) into both, so naming ours does not drop them.
 */
export const sourceResolution = {
  resolve: { conditions: [sourceCondition] },
  ssr: { resolve: { conditions: [sourceCondition] } },
};

/**
 * The source file of a `@keyless/…` entry, for `globalSetup`: vitest resolves a global setup's path
 * the way Node does, without the source condition, which would load it (and all it imports) from dist.
 */
export function sourceEntry(specifier: string): string {
  const path = workspaceSourceOf(specifier);
  if (path === undefined)
    throw new Error(`${specifier} has no ${sourceCondition} entry in its package.json exports`);
  return path;
}

function kindOfMode(mode: string): TestKind | undefined {
  return mode === 'fast' || mode === 'stack' ? mode : undefined;
}

/**
 * The shared test settings for the package whose vitest.config.ts is at `configUrl`, for the mode
 * vitest runs in: `vitest run --mode fast` runs the files that do not start the local stack,
 * `--mode stack` the ones that do (vitest.test-kinds.ts decides, `pnpm test:kinds` lists them), and
 * any other mode (vitest's default is `test`) runs everything.
 */
export function keylessTestSettings(configUrl: string, mode: string) {
  const kind = kindOfMode(mode);
  if (kind === undefined) return { ...keylessTestDefaults, passWithNoTests: false };
  const packageFolder = dirname(fileURLToPath(configUrl));
  const include = new TestKindReader()
    .classify(packageFolder)
    .filter((each) => each.kind === kind)
    .map((each) => each.file);
  // A package may have no file of one kind (core starts no stack): that half passes empty.
  return { ...keylessTestDefaults, include, passWithNoTests: true };
}
