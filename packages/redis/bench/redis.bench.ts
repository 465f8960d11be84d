// INCR through keyless (password from Key Vault, and Entra token) against raw ioredis with a static
// password, in the same run against the same local Redis over TLS and the same port (in Entra mode
// the stack puts a token-expiry gateway in front of redis-server; raw and keyless both go through
// it): sequential, 16-way concurrent on one connection, and pipelined (×100) ops/s; then cold
// process → first command, each mode against the raw libraries doing the same work with the same
// backend (see redis-cold-start.ts), for both token backends. Rounds interleave the contenders and
// medians are reported; judge by the ratios. Writes bench-results/redis.json at the repository root
// (bench-results.ts has the format) and prints the tables. The measuring runs in child processes
// started with the stack's environment (NODE_EXTRA_CA_CERTS is read at start-up). The same
// throughput for node-redis (raw createClient with the static password against
// createNodeRedisConnector()), and then, against a local Redis Cluster (a second stack), 16-way and
// pipelined throughput of raw ioredis Cluster / raw node-redis createCluster against keyless's cluster
// factories (redis-cluster-measure.ts). `pnpm bench` runs it; Node strips the types, so there is no
// build step (but @keyless/* load from dist). BENCH_REDIS_PARTS=cluster (or standalone, cold, comma-
// separated) runs only those parts and prints their figures without writing bench-results/redis.json.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startLocalAzure } from '@keyless/local-azure';
import { type BenchRow, median, row, writeBenchResults } from '../../../scripts/bench-results.mjs';
import type { RoundsReport } from './interleaved-rounds.ts';
import type {
  ClusterContender,
  ClusterKind,
  ClusterMeasureReport,
  ClusterMeasureSettings,
} from './redis-cluster-measure.ts';
import type { Contender, Kind, MeasureReport, MeasureSettings } from './redis-measure.ts';

// Many short samples (15–35 ms each) on connections renewed every 20 rounds: with 12 rounds of
// long samples on one connection per contender, two identical raw clients differed by 0.92–1.12×
// from run to run (redis-measure.ts and RenewedContenders say why).
const settings: MeasureSettings = {
  rounds: Number(process.env.BENCH_REDIS_ROUNDS ?? 300),
  renewEvery: Number(process.env.BENCH_REDIS_RENEW_EVERY ?? 20),
  sequentialOps: Number(process.env.BENCH_REDIS_SEQUENTIAL_OPS ?? 300),
  concurrentOps: Number(process.env.BENCH_REDIS_CONCURRENT_OPS ?? 1500),
  concurrency: 16,
  pipelines: Number(process.env.BENCH_REDIS_PIPELINES ?? 60),
  pipelineSize: 100,
};
const clusterSettings: ClusterMeasureSettings = {
  rounds: Number(process.env.BENCH_REDIS_CLUSTER_ROUNDS ?? 300),
  renewEvery: Number(process.env.BENCH_REDIS_RENEW_EVERY ?? 20),
  concurrentOps: Number(process.env.BENCH_REDIS_CONCURRENT_OPS ?? 1500),
  concurrency: 16,
  pipelines: Number(process.env.BENCH_REDIS_PIPELINES ?? 60),
  pipelineSize: 100,
};
const coldStarts = Number(process.env.BENCH_REDIS_COLD_STARTS ?? 11);
const backends = ['azure-identity', 'msal'] as const;
const coldContenders = ['raw-static', 'raw-secret', 'keyless-secret', 'raw-entra', 'keyless-entra'] as const;
const run = promisify(execFile);
const allParts = ['standalone', 'cold', 'cluster'] as const;
const parts = new Set(
  (process.env.BENCH_REDIS_PARTS ?? allParts.join(','))
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== ''),
);
for (const part of parts) {
  if (!(allParts as readonly string[]).includes(part))
    throw new Error(`BENCH_REDIS_PARTS: unknown part ${JSON.stringify(part)} (${allParts.join(', ')})`);
}
const everyPart = allParts.every((part) => parts.has(part));

// Empty until measured (a part left out by BENCH_REDIS_PARTS stays empty and is not reported).
const noSamples = <Name extends string, K extends string>(names: readonly Name[], kinds: readonly K[]) =>
  Object.fromEntries(
    names.map((name) => [name, Object.fromEntries(kinds.map((kind) => [kind, [] as number[]]))]),
  ) as Record<Name, Record<K, number[]>>;
const standaloneContenders = [
  'raw',
  'control',
  'secret',
  'entra',
  'nodeRaw',
  'nodeControl',
  'nodeSecret',
  'nodeEntra',
] as const;
const standaloneKinds = ['sequential', 'concurrent', 'pipelined'] as const;
let report: MeasureReport = {
  opsPerSecond: noSamples(standaloneContenders, standaloneKinds),
  cpuMicrosecondsPerOp: noSamples(standaloneContenders, standaloneKinds),
};
const cold: Record<string, number[]> = {};
if (parts.has('standalone') || parts.has('cold')) {
  const stateFolder = mkdtempSync(join(tmpdir(), 'keyless-bench-'));
  const stack = await startLocalAzure({
    services: ['redis'],
    stateFolder,
    onProgress: (event) => process.stderr.write(`${event.service}: ${event.phase}\n`),
  });
  try {
    // The raw contender's static password: what a connection string would hold. Never printed.
    const password = stack.keyVault?.secretValues().slice(-1)[0] ?? '';
    const environment = { ...process.env, ...stack.env, BENCH_REDIS_PASSWORD: password };
    if (parts.has('standalone')) {
      process.stderr.write('measuring throughput…\n');
      report = await runMeasure<MeasureReport>('./redis-measure.ts', settings, environment);
    }
    const child = fileURLToPath(new URL('./redis-cold-start.ts', import.meta.url));
    if (parts.has('cold')) process.stderr.write('measuring cold starts…\n');
    for (let attempt = 0; attempt < (parts.has('cold') ? coldStarts : 0); attempt += 1) {
      for (const backend of backends) {
        for (const contender of coldContenders) {
          if (contender === 'raw-static' && backend === 'msal') continue;
          const { stdout: line } = await run(process.execPath, [child, contender], {
            env: { ...environment, KEYLESS_TOKEN_PROVIDER: backend },
          });
          const sample = JSON.parse(line.trim().split('\n').at(-1) as string) as { milliseconds: number };
          const key = `${contender}/${backend}`;
          cold[key] = [...(cold[key] ?? []), sample.milliseconds];
        }
      }
    }
  } finally {
    await stack.stop();
    rmSync(stateFolder, { recursive: true, force: true });
  }
}

const clusterContenders = [
  'ioredisRaw',
  'ioredisControl',
  'ioredisSecret',
  'ioredisEntra',
  'nodeRaw',
  'nodeControl',
  'nodeSecret',
  'nodeEntra',
] as const;
let clusterReport: ClusterMeasureReport = {
  opsPerSecond: noSamples(clusterContenders, ['concurrent', 'pipelined']),
  cpuMicrosecondsPerOp: noSamples(clusterContenders, ['concurrent', 'pipelined']),
};
if (parts.has('cluster')) {
  // The cluster: a stack of its own (the local stack runs either a standalone Redis or a cluster).
  const clusterStateFolder = mkdtempSync(join(tmpdir(), 'keyless-bench-cluster-'));
  const clusterStack = await startLocalAzure({
    services: ['redis'],
    redis: { cluster: true },
    stateFolder: clusterStateFolder,
    onProgress: (event) => process.stderr.write(`${event.service}: ${event.phase}\n`),
  });
  try {
    const password = clusterStack.keyVault?.secretValues().slice(-1)[0] ?? '';
    process.stderr.write('measuring cluster throughput…\n');
    clusterReport = await runMeasure<ClusterMeasureReport>('./redis-cluster-measure.ts', clusterSettings, {
      ...process.env,
      ...clusterStack.env,
      BENCH_REDIS_PASSWORD: password,
    });
  } finally {
    await clusterStack.stop();
    rmSync(clusterStateFolder, { recursive: true, force: true });
  }
}

const kindLabel: Record<Kind, string> = {
  sequential: 'sequential',
  concurrent: `${settings.concurrency}-way`,
  pipelined: `pipelined ×${settings.pipelineSize}`,
};
const kindNote: Record<Kind, string> = {
  sequential: `${settings.sequentialOps} INCR one at a time`,
  concurrent: `${settings.concurrentOps} INCR, ${settings.concurrency} in flight on the one connection`,
  pipelined: `${settings.pipelines} pipelines of ${settings.pipelineSize} INCR`,
};
const modeLabel = { secret: 'Key Vault secret', entra: 'Entra token' } as const;
const standaloneLibraries = {
  ioredis: {
    raw: 'raw',
    control: 'control',
    secret: 'secret',
    entra: 'entra',
    rawLabel: 'raw ioredis, static password',
    factory: 'createRedisConnector()',
    pipelineNote: '',
  },
  'node-redis': {
    raw: 'nodeRaw',
    control: 'nodeControl',
    secret: 'nodeSecret',
    entra: 'nodeEntra',
    rawLabel: 'raw node-redis createClient, static password',
    factory: 'createNodeRedisConnector()',
    pipelineNote: ' (multi().execAsPipeline())',
  },
} as const satisfies Record<
  string,
  Record<'raw' | 'control' | 'secret' | 'entra', Contender> & {
    rawLabel: string;
    factory: string;
    pipelineNote: string;
  }
>;
const standaloneRowsOf = (library: keyof typeof standaloneLibraries) =>
  libraryRows({
    report,
    library,
    roles: standaloneLibraries[library],
    kinds: standaloneKinds,
    kindLabel,
    kindNote,
    rowPrefix: '',
    sampling: `${settings.rounds} rounds`,
    renewal: `connections renewed every ${settings.renewEvery} rounds`,
    clientWord: 'client',
  });
const standaloneRows = { ioredis: standaloneRowsOf('ioredis'), 'node-redis': standaloneRowsOf('node-redis') };
const clusterKindLabel: Record<ClusterKind, string> = {
  concurrent: `${clusterSettings.concurrency}-way`,
  pipelined: `pipelined ×${clusterSettings.pipelineSize}`,
};
const clusterKindNote: Record<ClusterKind, string> = {
  concurrent: `${clusterSettings.concurrentOps} INCR, ${clusterSettings.concurrency} in flight over 16 keys on the 3 shards`,
  pipelined: `${clusterSettings.pipelines} pipelines of ${clusterSettings.pipelineSize} INCR on one key (one node)`,
};
const clusterLibraries = {
  ioredis: {
    raw: 'ioredisRaw',
    control: 'ioredisControl',
    secret: 'ioredisSecret',
    entra: 'ioredisEntra',
    rawLabel: 'raw ioredis Cluster, static password',
    factory: 'createRedisClusterConnector()',
  },
  'node-redis': {
    raw: 'nodeRaw',
    control: 'nodeControl',
    secret: 'nodeSecret',
    entra: 'nodeEntra',
    rawLabel: 'raw node-redis createCluster, static password',
    factory: 'createNodeRedisClusterConnector()',
  },
} as const satisfies Record<
  string,
  Record<'raw' | 'control' | 'secret' | 'entra', ClusterContender> & { rawLabel: string; factory: string }
>;
const clusterRows = (['ioredis', 'node-redis'] as const).map((library) =>
  libraryRows({
    report: clusterReport,
    library,
    roles: clusterLibraries[library],
    kinds: ['concurrent', 'pipelined'] as const,
    kindLabel: clusterKindLabel,
    kindNote: clusterKindNote,
    rowPrefix: `${library} cluster, `,
    sampling: `${clusterSettings.rounds} rounds`,
    renewal: `clients renewed every ${clusterSettings.renewEvery} rounds`,
    clientWord: 'cluster',
  }),
);
const cpuRows = [
  ...standaloneRows.ioredis.cpu,
  ...standaloneRows['node-redis'].cpu,
  ...clusterRows.flatMap((rows) => rows.cpu),
];
const coldRows: BenchRow[] = [
  row({
    measure: 'static password (reference, no identity)',
    unit: 'ms',
    raw: Math.round(median(cold['raw-static/azure-identity'] ?? [])),
    keyless: null,
    better: 'lower',
    goal: null,
    rawLabel: 'ioredis with the password in hand',
    keylessLabel: '—',
    note: 'what an app with a stored access key pays; keyless never holds one',
  }),
];
for (const backend of backends) {
  const rawCredential = backend === 'msal' ? 'MSAL ManagedIdentityApplication' : 'ManagedIdentityCredential';
  for (const mode of ['secret', 'entra'] as const) {
    coldRows.push(
      row({
        measure: `${modeLabel[mode]}, ${backend}`,
        unit: 'ms',
        raw: Math.round(median(cold[`raw-${mode}/${backend}`] ?? [])),
        keyless: Math.round(median(cold[`keyless-${mode}/${backend}`] ?? [])),
        better: 'lower',
        goal: 1.1,
        rawLabel:
          mode === 'secret'
            ? `${rawCredential} + SecretClient + ioredis`
            : `${rawCredential} token + ioredis`,
        keylessLabel: `createRedisConnector({ password: ${mode === 'secret' ? 'fromKeyVaultSecret()' : 'entraToken()'} }), ${backend}`,
        note: `median of ${coldStarts} fresh processes each, interleaved`,
      }),
    );
  }
}
const controlFloors = [
  ...(parts.has('standalone')
    ? (['ioredis', 'node-redis'] as const).flatMap((library) =>
        standaloneKinds.map(
          (kind) =>
            `${library} ${kindLabel[kind]} ${controlRatio(report, standaloneLibraries[library], kind)}`,
        ),
      )
    : []),
  ...(parts.has('cluster')
    ? (['ioredis', 'node-redis'] as const).flatMap((library) =>
        (['concurrent', 'pipelined'] as const).map(
          (kind) =>
            `cluster ${library} ${clusterKindLabel[kind]} ${controlRatio(clusterReport, clusterLibraries[library], kind)}`,
        ),
      )
    : []),
];
console.log(`noise floor this run (a second raw client ÷ the first): ${controlFloors.join(', ')}`);
if (cpuRows.length > 0) {
  // Less moved by the machine's load than ops/s: keyless's own work per command would show here.
  console.log('\nClient CPU time per operation (median µs; keyless ÷ raw)');
  console.table(cpuRows);
}
const tables = [
  { part: 'standalone', title: 'Throughput, INCR over TLS', rows: standaloneRows.ioredis.rows },
  {
    part: 'standalone',
    title: 'Throughput, INCR over TLS, node-redis',
    rows: standaloneRows['node-redis'].rows,
  },
  {
    part: 'cluster',
    title: 'Redis Cluster throughput, INCR over TLS (3 masters, 3 replicas)',
    rows: clusterRows.flatMap((rows) => rows.rows),
  },
  { part: 'cold', title: 'Cold process → first INCR (time since process start)', rows: coldRows },
];
if (everyPart) {
  writeBenchResults(
    fileURLToPath(new URL('../../../', import.meta.url)),
    'redis',
    'Azure Cache for Redis and Azure Managed Redis (@keyless/redis vs ioredis and node-redis)',
    tables.map(({ title, rows }) => ({ title, rows })),
  );
} else {
  // A partial run: printed only, so that bench-results/redis.json always holds a whole run.
  for (const table of tables.filter((entry) => parts.has(entry.part))) {
    console.log(`\n${table.title}`);
    console.table(table.rows.map(({ measure, raw, keyless, ratio }) => ({ measure, raw, keyless, ratio })));
  }
}

/** The contenders that play each part for one client library, and how its rows name them. */
type Roles<Name extends string> = Record<'raw' | 'control' | 'secret' | 'entra', Name> & {
  rawLabel: string;
  factory: string;
  pipelineNote?: string;
};

/** How far the library's second raw client measured from the first: the run's noise floor. */
function controlRatio<Name extends string, K extends string>(
  samples: RoundsReport<Name, K>,
  roles: Roles<Name>,
  kind: K,
): string {
  return (
    median(samples.opsPerSecond[roles.control][kind]) / median(samples.opsPerSecond[roles.raw][kind])
  ).toFixed(3);
}

/**
 * One library's rows, per kind and mode: ops/s against the raw client (goal 0.98), with the noise
 * floor and the client's CPU time per operation in the note (median µs: what keyless could add per
 * command, which the machine's load moves far less than ops/s); and those CPU figures for the console.
 */
function libraryRows<Name extends string, K extends string>(options: {
  report: RoundsReport<Name, K>;
  library: string;
  roles: Roles<Name>;
  kinds: readonly K[];
  kindLabel: Record<K, string>;
  kindNote: Record<K, string>;
  rowPrefix: string;
  sampling: string;
  renewal: string;
  clientWord: 'client' | 'cluster';
}): { rows: BenchRow[]; cpu: Record<string, string | number>[] } {
  const { report: samples, library, roles, kindLabel: labels, kindNote: notes } = options;
  const cpu = (contender: Name, kind: K) => median(samples.cpuMicrosecondsPerOp[contender][kind]);
  const rows: BenchRow[] = [];
  const cpuRows: Record<string, string | number>[] = [];
  for (const kind of options.kinds) {
    for (const mode of ['secret', 'entra'] as const) {
      const pipelineNote = kind === 'pipelined' ? (roles.pipelineNote ?? '') : '';
      rows.push(
        row({
          measure: `${options.rowPrefix}${labels[kind]}, ${modeLabel[mode]} mode`,
          unit: 'ops/s',
          raw: Math.round(median(samples.opsPerSecond[roles.raw][kind])),
          keyless: Math.round(median(samples.opsPerSecond[roles[mode]][kind])),
          better: 'higher',
          goal: 0.98,
          rawLabel: roles.rawLabel,
          keylessLabel: `${roles.factory}, ${modeLabel[mode]}`,
          note: `median of ${options.sampling} of ${notes[kind]}${pipelineNote}, the library's four clients in a rotating order, each sample after a full GC, ${options.renewal}; noise floor: a second raw ${library} ${options.clientWord} measured ${controlRatio(samples, roles, kind)}× the first; client CPU per operation ${cpu(roles.raw, kind).toFixed(2)} µs raw, ${cpu(roles[mode], kind).toFixed(2)} µs keyless`,
        }),
      );
      cpuRows.push({
        measure: `${library}${options.clientWord === 'cluster' ? ' cluster' : ''}, ${labels[kind]}, ${modeLabel[mode]} mode`,
        'raw µs/op': Number(cpu(roles.raw, kind).toFixed(2)),
        'control µs/op': Number(cpu(roles.control, kind).toFixed(2)),
        'keyless µs/op': Number(cpu(roles[mode], kind).toFixed(2)),
        ratio: Number((cpu(roles[mode], kind) / cpu(roles.raw, kind)).toFixed(3)),
      });
    }
  }
  return { rows, cpu: cpuRows };
}

/**
 * Runs one measuring child (started with --expose-gc, in `environment`: NODE_EXTRA_CA_CERTS is read
 * at start-up) with its settings, and returns the report it prints as its last line.
 */
async function runMeasure<Report>(
  script: string,
  measureSettings: object,
  environment: NodeJS.ProcessEnv,
): Promise<Report> {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', fileURLToPath(new URL(script, import.meta.url)), JSON.stringify(measureSettings)],
    { env: environment, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Report;
}
