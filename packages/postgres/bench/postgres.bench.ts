// PostgreSQL through keyless (Key Vault secret mode and Entra mode) against a raw pg.Pool, in the same
// run against the same local server over TLS, same pool size:
// - throughput of `SELECT 1`, sequential and 16-way, keyless's pools against a raw pg.Pool with a
//   static password (a warm pool logs in no more: the password source is not on the query path);
// - cold process → first query, each mode against the raw libraries doing the same work with the
//   same backend (see cold-start.ts), for both token backends.
// Rounds interleave the contenders (each round starts with the next one) and medians are reported,
// so load from other processes on the machine spreads evenly; judge by the ratios. Writes
// bench-results/postgres.json at the repository root (bench-results.ts has the format) and prints
// the tables. NODE_EXTRA_CA_CERTS is read only when Node starts, so the script re-runs itself once
// with it set. Node strips the types; @keyless/* load from their dist folders (run `pnpm build`).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BenchRow, median, row, writeBenchResults } from '../../../scripts/bench-results.mjs';

const settings = {
  poolSize: 16,
  concurrency: 16,
  // Many short samples, not a few long ones. On this 2-core machine, where the server's processes
  // share the cores with the client, a sample's speed moves by 6–10 % whatever its length (0.2 s or
  // 1.2 s samples alike), so 11 rounds left two identical raw pools up to 12 % apart and a median of
  // 11 could not show a 2 % goal. 500 rounds of ~20–30 ms samples: the medians of identical pools
  // differ by under 2 % (a second raw pool measured 0.983–1.003× the first in three runs of 300).
  sequentialQueries: Number(process.env.BENCH_PG_SEQUENTIAL ?? 300),
  concurrentQueries: Number(process.env.BENCH_PG_CONCURRENT ?? 1200),
  rounds: Number(process.env.BENCH_PG_ROUNDS ?? 500),
  coldStarts: Number(process.env.BENCH_PG_COLD_STARTS ?? 11),
};
const backends = ['azure-identity', 'msal'] as const;
const coldContenders = ['raw-static', 'raw-secret', 'keyless-secret', 'raw-entra', 'keyless-entra'] as const;
const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

if (process.env.KEYLESS_BENCH_POSTGRES_CHILD === undefined) {
  // Parent: make the CA, then run the measuring process with it trusted from its first instruction.
  const { ensureLocalCertificateAuthority, trustBundleFor } = await import('@keyless/local-azure');
  const stateFolder = mkdtempSync(join(tmpdir(), 'keyless-bench-postgres-'));
  try {
    const authority = await ensureLocalCertificateAuthority(stateFolder);
    // Added to what the user trusts, not instead of it (a proxy's CA).
    const trustBundle = await trustBundleFor(authority);
    const code = await new Promise<number | null>((resolve, reject) => {
      spawn(process.execPath, [fileURLToPath(import.meta.url)], {
        stdio: 'inherit',
        env: { ...process.env, NODE_EXTRA_CA_CERTS: trustBundle, KEYLESS_BENCH_POSTGRES_CHILD: stateFolder },
      })
        // A child that cannot start emits 'error' (and no 'exit'): unhandled, it would crash the parent.
        .on('error', reject)
        .on('exit', resolve);
    });
    process.exitCode = code ?? 1;
  } finally {
    rmSync(stateFolder, { recursive: true, force: true });
  }
} else {
  await measure(process.env.KEYLESS_BENCH_POSTGRES_CHILD);
}

interface Pool {
  query(text: string): Promise<unknown>;
}

type Contender = 'raw' | 'control' | 'secret' | 'entra';

async function measure(stateFolder: string): Promise<void> {
  const { default: pg } = await import('pg');
  const { createTokenProvider, entraToken, fromKeyVaultSecret } = await import('@keyless/core');
  const { startLocalAzure } = await import('@keyless/local-azure');
  const { createPostgresConnector } = await import('@keyless/postgres');

  const stack = await startLocalAzure({
    services: ['postgres'],
    stateFolder,
    onProgress: (event) => process.stderr.write(`${event.service}: ${event.phase}\n`),
  });
  Object.assign(process.env, stack.env);
  const tokenProvider = createTokenProvider();
  // The raw contender needs the password in hand: set one the bench knows (never printed), on the
  // server and as the secret's new version, as a rotation job would.
  const password = randomBytes(24).toString('base64url');
  await stack.postgres?.rotatePassword(stack.env.KEYLESS_POSTGRES_USER as string, password);
  stack.keyVault?.setSecret(stack.env.KEYLESS_POSTGRES_PASSWORD_SECRET as string, password);

  const rawPool = () =>
    new pg.Pool({
      host: stack.env.KEYLESS_POSTGRES_HOST,
      port: Number(stack.env.KEYLESS_POSTGRES_PORT),
      database: stack.env.KEYLESS_POSTGRES_DATABASE,
      user: stack.env.KEYLESS_POSTGRES_USER,
      password,
      ssl: true,
      max: settings.poolSize,
    });
  const raw = rawPool();
  // A second raw pool in the same rounds: how far two identical pools differ in this run (the noise floor).
  const control = rawPool();
  // pg-pool re-emits an idle client's error (57P01 when the server stops) on the pool: without a
  // listener that is an unhandled 'error' event and crashes the bench (keyless listens itself).
  const idleErrors: unknown[] = [];
  for (const pool of [raw, control]) pool.on('error', (error) => idleErrors.push(error));
  const secretMode = createPostgresConnector({
    password: fromKeyVaultSecret(),
    tokenProvider,
    pool: { max: settings.poolSize },
  });
  const entraMode = createPostgresConnector({
    user: stack.env.KEYLESS_POSTGRES_ENTRA_USER,
    password: entraToken(),
    tokenProvider,
    pool: { max: settings.poolSize },
  });
  const pools: [Contender, Pool][] = [
    ['raw', raw],
    ['control', control],
    ['secret', secretMode],
    ['entra', entraMode],
  ];

  const sequential: Record<Contender, number[]> = { raw: [], control: [], secret: [], entra: [] };
  const concurrent: Record<Contender, number[]> = { raw: [], control: [], secret: [], entra: [] };
  const cold: Record<string, number[]> = {};
  try {
    // Warm-up: fill every pool to its size, so the timed runs measure queries, not logins.
    for (const [, pool] of pools) {
      for (let pass = 0; pass < 3; pass += 1) {
        await Promise.all(Array.from({ length: settings.poolSize * 4 }, () => pool.query('SELECT 1')));
      }
    }
    process.stderr.write('measuring throughput…\n');
    // The order rotates each round, and each sample starts after a full garbage collection (the
    // package's bench script runs Node with --expose-gc): no pool pays for the previous one's garbage.
    for (let round = 0; round < settings.rounds; round += 1) {
      const order = [...pools.slice(round % pools.length), ...pools.slice(0, round % pools.length)];
      for (const [name, pool] of order) {
        collectGarbage();
        sequential[name].push(await run(pool, settings.sequentialQueries, 1));
      }
      for (const [name, pool] of order) {
        collectGarbage();
        concurrent[name].push(await run(pool, settings.concurrentQueries, settings.concurrency));
      }
    }
    process.stderr.write('measuring cold starts…\n');
    const child = fileURLToPath(new URL('./cold-start.ts', import.meta.url));
    for (let attempt = 0; attempt < settings.coldStarts; attempt += 1) {
      for (const backend of backends) {
        for (const contender of coldContenders) {
          if (contender === 'raw-static' && backend === 'msal') continue;
          const { stdout } = await promisify(execFile)(process.execPath, [child, contender], {
            env: {
              ...process.env,
              ...stack.env,
              KEYLESS_TOKEN_PROVIDER: backend,
              BENCH_POSTGRES_PASSWORD: password,
            },
          });
          const sample = JSON.parse(stdout.trim().split('\n').at(-1) as string) as { milliseconds: number };
          const key = `${contender}/${backend}`;
          cold[key] = [...(cold[key] ?? []), sample.milliseconds];
        }
      }
    }
  } finally {
    // Every pool ends before the server stops, and each step runs even if one before it failed.
    await raw.end().catch((error: unknown) => idleErrors.push(error));
    await control.end().catch((error: unknown) => idleErrors.push(error));
    await secretMode.close();
    await entraMode.close();
    await tokenProvider.close();
    await stack.stop();
  }
  if (idleErrors.length > 0)
    process.stderr.write(`raw pool: ${idleErrors.length} idle connection error(s)\n`);

  const controlRatio = (samples: Record<Contender, number[]>) =>
    (median(samples.control) / median(samples.raw)).toFixed(3);
  console.log(
    `noise floor this run (a second raw pool ÷ the first): sequential ${controlRatio(sequential)}, 16-way ${controlRatio(concurrent)}`,
  );
  const rawLabel = `raw pg.Pool of ${settings.poolSize}, static password`;
  const modeLabel = { secret: 'Key Vault secret', entra: 'Entra token' } as const;
  const throughput = (
    kind: 'sequential' | '16-way',
    samples: Record<Contender, number[]>,
    mode: 'secret' | 'entra',
  ) =>
    row({
      measure: `${kind}, ${modeLabel[mode]} mode`,
      unit: 'q/s',
      raw: Math.round(median(samples.raw)),
      keyless: Math.round(median(samples[mode])),
      better: 'higher',
      goal: 0.98,
      rawLabel,
      keylessLabel: `keyless pool of ${settings.poolSize}, ${modeLabel[mode]}`,
      note: `median of ${settings.rounds} interleaved samples of ${kind === 'sequential' ? settings.sequentialQueries : settings.concurrentQueries} queries, each sample after a full GC; noise floor: a second raw pool measured ${controlRatio(samples)}× the first`,
    });
  const coldRows: BenchRow[] = [
    row({
      measure: 'static password (reference, no identity)',
      unit: 'ms',
      raw: Math.round(median(cold['raw-static/azure-identity'] ?? [])),
      keyless: null,
      better: 'lower',
      goal: null,
      rawLabel: 'pg.Pool with the password in hand',
      keylessLabel: '—',
      note: 'what an app with a stored password pays; keyless never holds one',
    }),
  ];
  for (const backend of backends) {
    const rawCredential =
      backend === 'msal' ? 'MSAL ManagedIdentityApplication' : 'ManagedIdentityCredential';
    coldRows.push(
      row({
        measure: `Key Vault secret, ${backend}`,
        unit: 'ms',
        raw: Math.round(median(cold[`raw-secret/${backend}`] ?? [])),
        keyless: Math.round(median(cold[`keyless-secret/${backend}`] ?? [])),
        better: 'lower',
        goal: 1.1,
        rawLabel: `${rawCredential} + SecretClient + pg.Pool`,
        keylessLabel: `createPostgresConnector({ password: fromKeyVaultSecret() }), ${backend}`,
        note: `median of ${settings.coldStarts} fresh processes each, interleaved`,
      }),
      row({
        measure: `Entra token, ${backend}`,
        unit: 'ms',
        raw: Math.round(median(cold[`raw-entra/${backend}`] ?? [])),
        keyless: Math.round(median(cold[`keyless-entra/${backend}`] ?? [])),
        better: 'lower',
        goal: 1.1,
        rawLabel: `${rawCredential} token + pg.Pool`,
        keylessLabel: `createPostgresConnector({ password: entraToken() }), ${backend}`,
        note: `median of ${settings.coldStarts} fresh processes each, interleaved`,
      }),
    );
  }
  writeBenchResults(repositoryRoot, 'postgres', 'PostgreSQL (@keyless/postgres vs pg)', [
    {
      title: `Throughput, SELECT 1 over TLS (pool of ${settings.poolSize})`,
      rows: [
        throughput('sequential', sequential, 'secret'),
        throughput('sequential', sequential, 'entra'),
        throughput('16-way', concurrent, 'secret'),
        throughput('16-way', concurrent, 'entra'),
      ],
    },
    { title: 'Cold process → first SELECT 1 (time since process start)', rows: coldRows },
  ]);
}

/** A full collection when Node was started with --expose-gc (the bench script does); else nothing. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Queries per second over `queries` queries, `concurrency` at a time. */
async function run(pool: Pool, queries: number, concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < queries) {
        next += 1;
        await pool.query('SELECT 1');
      }
    }),
  );
  return queries / ((performance.now() - started) / 1000);
}
