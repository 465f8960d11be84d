// Cold start, keyless against the raw library doing the same work with the same backend: each
// sample is a fresh Node process (cold-start-contenders.ts); rounds alternate the contenders so
// that a busy machine slows them alike, and each figure is the median over the rounds.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BenchRow, median, row } from '../../../scripts/bench-results.mjs';
import { type ColdSample, firstTokenContenders, importContenders } from './cold-start-contenders.ts';

const contenderScript = fileURLToPath(new URL('./cold-start-contenders.ts', import.meta.url));

async function sample(mode: '--import' | '--first-token', name: string, environment: NodeJS.ProcessEnv) {
  const { stdout } = await promisify(execFile)(process.execPath, [contenderScript, mode, name], {
    env: environment,
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as ColdSample;
}

async function interleaved(
  mode: '--import' | '--first-token',
  names: readonly string[],
  rounds: number,
  environment: NodeJS.ProcessEnv,
): Promise<Map<string, ColdSample[]>> {
  const samples = new Map(names.map((name) => [name, [] as ColdSample[]]));
  for (let round = 0; round < rounds; round += 1) {
    // Alternate the order too: the first process of a round can find a colder file cache.
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) samples.get(name)?.push(await sample(mode, name, environment));
  }
  return samples;
}

const medianOf = (samples: ColdSample[] | undefined, field: keyof ColdSample) =>
  Number(median((samples ?? []).map((entry) => entry[field])).toFixed(1));

/** `import` cost: goal keyless ≤ raw + 10 ms (the note says by how much), ratio for the table. */
export async function measureImports(rounds: number): Promise<BenchRow[]> {
  const samples = await interleaved('--import', importContenders, rounds, { PATH: process.env.PATH ?? '' });
  const pairs = [
    ['msal', 'raw @azure/msal-node', 'keyless, msal backend'],
    ['azure-identity', 'raw @azure/identity', 'keyless, azure-identity backend'],
  ] as const;
  return pairs.map(([backend, rawName, keylessName]) => {
    const raw = medianOf(samples.get(rawName), 'importMs');
    const keyless = medianOf(samples.get(keylessName), 'importMs');
    const difference = keyless - raw;
    return row({
      measure: `import, ${backend} backend`,
      unit: 'ms',
      raw,
      keyless,
      better: 'lower',
      goal: Number(((raw + 10) / raw).toFixed(3)),
      rawLabel: `require('${rawName.slice(4)}') (its CommonJS build, as keyless loads it)`,
      keylessLabel: `import('@keyless/core') + createTokenProvider + the library its first getToken loads (its CommonJS build, from core's folder)`,
      note: `keyless − raw = ${difference.toFixed(1)} ms (goal ≤ +10 ms); median of ${rounds} fresh processes each, interleaved`,
    });
  });
}

/** Process start → first token in hand, against the local identity endpoint (App Service protocol). */
export async function measureFirstTokens(
  rounds: number,
  environment: Record<string, string>,
): Promise<BenchRow[]> {
  const samples = await interleaved('--first-token', firstTokenContenders, rounds, {
    PATH: process.env.PATH ?? '',
    ...environment,
  });
  const pairs = [
    ['msal', 'raw ManagedIdentityApplication'],
    ['azure-identity', 'raw ManagedIdentityCredential'],
  ] as const;
  return pairs.map(([backend, rawName]) => {
    const keylessName = `keyless, ${backend} backend`;
    const raw = medianOf(samples.get(rawName), 'firstTokenMs');
    const keyless = medianOf(samples.get(keylessName), 'firstTokenMs');
    return row({
      measure: `cold process → first token, ${backend} backend`,
      unit: 'ms',
      raw,
      keyless,
      better: 'lower',
      goal: 1.1,
      rawLabel: `${rawName} (load its CommonJS build, construct, one token)`,
      keylessLabel: `createTokenProvider({ backend: '${backend}' }).getToken`,
      note: `from process start (performance.now()) to the token in hand; CPU time by then ${medianOf(samples.get(rawName), 'cpuMs')} ms raw, ${medianOf(samples.get(keylessName), 'cpuMs')} ms keyless; imports took ${medianOf(samples.get(rawName), 'importMs')} ms raw, ${medianOf(samples.get(keylessName), 'importMs')} ms keyless (before its backend loads); median of ${rounds} fresh processes each, interleaved`,
    });
  });
}
