import { execa } from 'execa';
import semver from 'semver';
import type { PackedPackage } from './pack-packages.ts';
import { userShellEnvironment } from './user-shell-environment.ts';
import { readManifest } from './workspace-packages.ts';

/** Every peer range the published packages declare, by peer name (one per package that has it). */
export function declaredPeerRanges(packed: readonly PackedPackage[]): Map<string, string[]> {
  const published = new Set(packed.map((each) => each.name));
  const ranges = new Map<string, string[]>();
  for (const each of packed) {
    for (const [name, range] of Object.entries(readManifest(each.folder).peerDependencies ?? {})) {
      if (published.has(name)) continue;
      ranges.set(name, [...(ranges.get(name) ?? []), range]);
    }
  }
  return ranges;
}

/** The `engines.node` range every published package shares (they must agree; the metadata test says so). */
export function declaredNodeRange(packed: readonly PackedPackage[]): string {
  const ranges = new Set(packed.map((each) => readManifest(each.folder).engines?.node ?? '*'));
  if (ranges.size !== 1)
    throw new Error(`the published packages disagree on engines.node: ${[...ranges].join(', ')}`);
  return [...ranges][0] as string;
}

const publishedCache = new Map<string, Promise<string[]>>();

/**
 * The versions of `name` on the registry, releases only (no prereleases), oldest first: one
 * `npm view` per package and process, through the user's npm settings.
 */
export function publishedVersions(name: string): Promise<string[]> {
  let versions = publishedCache.get(name);
  if (!versions) {
    versions = execa('npm', ['view', name, 'versions', '--json'], {
      env: userShellEnvironment(),
      extendEnv: false,
    }).then((result) => {
      const parsed = JSON.parse(result.stdout) as string | string[];
      const list = Array.isArray(parsed) ? parsed : [parsed];
      return semver.sort(list.filter((version) => semver.valid(version) && !semver.prerelease(version)));
    });
    publishedCache.set(name, versions);
  }
  return versions;
}

/** Published versions that every one of `ranges` allows, oldest first. */
export function allowedVersions(published: readonly string[], ranges: readonly string[]): string[] {
  return published.filter((version) => ranges.every((range) => semver.satisfies(version, range)));
}

/**
 * The lowest allowed version of each major the ranges allow, oldest first: `^5.4.0 || ^6.0.0` gives
 * [5.4.0, 6.0.0]. For a single-major range that is one version, `semver.minVersion` of the range
 * when that version is published.
 */
export function lowestOfEachMajor(allowed: readonly string[]): string[] {
  const lowest = new Map<number, string>();
  for (const version of allowed) {
    const major = semver.major(version);
    if (!lowest.has(major)) lowest.set(major, version);
  }
  return [...lowest.values()];
}

/** One set of peer versions (and a Node version) to install and smoke-test together. */
export interface VersionSet {
  /** e.g. `lowest`, `lowest (second major of each || range)`, `newest`. */
  name: string;
  node: string;
  peers: Record<string, string>;
}

export interface VersionPlan {
  nodeRange: string;
  peerRanges: Map<string, string[]>;
  sets: VersionSet[];
}

/**
 * The version sets the ranges promise to work with: `lowest` (every peer at the lowest version its
 * ranges allow, Node at the lowest engines allow), one more lowest set per further major of a
 * `a || b` range (its lowest version in that major; single-major peers stay at their lowest), and
 * `newest` (the newest versions the ranges allow, the newest Node engines allow).
 */
export async function planVersionSets(packed: readonly PackedPackage[]): Promise<VersionPlan> {
  const peerRanges = declaredPeerRanges(packed);
  const nodeRange = declaredNodeRange(packed);
  // The `node` package on npm carries every Node release as a binary (scripts/quickstart.mjs uses it too).
  const nodeAllowed = allowedVersions(await publishedVersions('node'), [nodeRange]);
  const lowestNode = nodeAllowed[0];
  const newestNode = nodeAllowed.at(-1);
  if (!lowestNode || !newestNode) throw new Error(`no published Node satisfies engines.node ${nodeRange}`);
  const lowestByPeer = new Map<string, string[]>();
  const newest: Record<string, string> = {};
  for (const [name, ranges] of peerRanges) {
    const allowed = allowedVersions(await publishedVersions(name), ranges);
    const newestVersion = allowed.at(-1);
    if (!newestVersion) throw new Error(`no published ${name} satisfies ${ranges.join(' and ')}`);
    lowestByPeer.set(name, lowestOfEachMajor(allowed));
    newest[name] = newestVersion;
  }
  const lowestSetCount = Math.max(1, ...[...lowestByPeer.values()].map((list) => list.length));
  const sets: VersionSet[] = [];
  for (let index = 0; index < lowestSetCount; index += 1) {
    const peers = Object.fromEntries(
      [...lowestByPeer].map(([name, list]) => [name, list[Math.min(index, list.length - 1)] as string]),
    );
    sets.push({
      name: index === 0 ? 'lowest' : `lowest, major ${index + 1} of each || range`,
      node: lowestNode,
      peers,
    });
  }
  sets.push({ name: 'newest', node: newestNode, peers: newest });
  return { nodeRange, peerRanges, sets };
}
