// Finds the lowest published version of a peer that the packed packages work with: bisects the
// releases of one major (assuming that once a version works, later ones in that major do too),
// each probe a fresh project with that version, every other peer at its newest allowed version,
// the lowest Node engines.node allows, and the smoke script. For narrowing a peer range whose lowest
// end the release check found broken:
//
//   pnpm --filter @keyless/release-check bisect <peer> <major>     e.g. bisect @azure/storage-blob 12
//
// Builds nothing: run `pnpm build` (or turbo) first, as the release check does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { createConsumerProject, installConsumerProject } from './consumer-project.ts';
import { installNode } from './node-binary.ts';
import { packPackage } from './pack-packages.ts';
import { missingSmokeLines, runSmoke } from './smoke-run.ts';
import { planVersionSets, publishedVersions } from './version-matrix.ts';
import { findPublishedPackages } from './workspace-packages.ts';

const [peer, majorText] = process.argv.slice(2);
if (!peer || !majorText || !/^\d+$/.test(majorText)) {
  console.error('usage: bisect <peer> <major>');
  process.exit(2);
}
const major = Number(majorText);
const folder = await mkdtemp(join(tmpdir(), 'keyless-bisect-'));
try {
  const tarballs = join(folder, 'tarballs');
  const packed = await Promise.all(findPublishedPackages().map((each) => packPackage(each, tarballs)));
  const plan = await planVersionSets(packed);
  const newest = plan.sets.find((set) => set.name === 'newest');
  const lowestNode = plan.sets[0]?.node;
  if (!newest || !lowestNode) throw new Error('no version plan');
  const node = await installNode(lowestNode, join(folder, `node-${lowestNode}`));
  const candidates = (await publishedVersions(peer)).filter((version) => semver.major(version) === major);
  if (candidates.length === 0) throw new Error(`${peer} has no published ${major}.x release`);

  let probes = 0;
  const works = async (version: string): Promise<boolean> => {
    probes += 1;
    const project = join(folder, `probe-${probes}`);
    await createConsumerProject(project, packed, { ...newest.peers, [peer]: version }, { typeCheck: false });
    // Below the declared range npm would refuse the peer (ERESOLVE): the probe asks whether the
    // code works with it, not whether npm accepts it.
    const install = await installConsumerProject(project, node, ['--legacy-peer-deps']);
    if (install.exitCode !== 0) {
      console.log(`${peer}@${version}: npm install failed`);
      return false;
    }
    const smoke = await runSmoke(project, { node });
    // The smoke's FAILED line, else (it never got going) the first error line Node printed.
    const failed =
      smoke.output.match(/^smoke: FAILED: .*$/m)?.[0] ??
      (missingSmokeLines(smoke.output).length > 0
        ? (smoke.output.match(/^\w*Error\b.*$/m)?.[0] ?? missingSmokeLines(smoke.output)[0])
        : undefined);
    const passed = smoke.exitCode === 0 && failed === undefined;
    // The smoke prints no secrets; its FAILED line is a keyless error message or a driver's.
    console.log(
      `${peer}@${version} on Node ${lowestNode}: ${passed ? 'works' : `fails (${failed ?? `exit ${smoke.exitCode}`})`}`,
    );
    await rm(project, { recursive: true, force: true });
    return passed;
  };

  // Invariant: candidates[high] works (checked first); everything below `low` fails.
  let low = 0;
  let high = candidates.length - 1;
  if (!(await works(candidates[high] as string))) {
    console.log(`no ${major}.x release works, not even the newest (${candidates[high]})`);
    process.exitCode = 1;
  } else {
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (await works(candidates[middle] as string)) high = middle;
      else low = middle + 1;
    }
    console.log(`lowest ${peer} ${major}.x that works: ${candidates[high]} (${probes} probes)`);
  }
} finally {
  await rm(folder, { recursive: true, force: true });
}
