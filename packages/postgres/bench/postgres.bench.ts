// PostgreSQL through keyless (secret mode and Entra mode) against a raw pg.Pool with a static
// password, in the same run against the same local server, same pool size: `SELECT 1` sequential
// and 16-way concurrent, the microseconds keyless adds per query, and the time to the first query
// from a cold process. NODE_EXTRA_CA_CERTS is read only when Node starts, so the script re-runs
// itself once with it set. Prints a table and merges its results under "postgres" into
// bench-results/sql-postgres-redis.json at the repository root. Node strips the types: no build
// step for this file, but @keyless/* are imported from their dist folders (run `pnpm build`).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const settings = {
  poolSize: 16,
  concurrency: 16,
  sequentialQueries: Number(process.env.BENCH_PG_SEQUENTIAL ?? 4000),
  concurrentQueries: Number(process.env.BENCH_PG_CONCURRENT ?? 16_000),
  rounds: Number(process.env.BENCH_PG_ROUNDS ?? 5),
  coldStarts: Number(process.env.BENCH_PG_COLD_STARTS ?? 3),
};

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
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: trustBundle,
          KEYLESS_BENCH_POSTGRES_CHILD: stateFolder,
        },
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

interface Series {
  queries: number;
  queriesPerSecond: number;
  meanMicroseconds: number;
}

interface Pool {
  query(text: string): Promise<unknown>;
}

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

  const server = {
    host: stack.env.KEYLESS_POSTGRES_HOST,
    port: Number(stack.env.KEYLESS_POSTGRES_PORT),
    database: stack.env.KEYLESS_POSTGRES_DATABASE,
  };
  const raw = new pg.Pool({
    ...server,
    user: stack.env.KEYLESS_POSTGRES_USER,
    password,
    ssl: true,
    max: settings.poolSize,
  });
  // pg-pool re-emits an idle client's error (57P01 when the server stops) on the pool: without a
  // listener that is an unhandled 'error' event and crashes the bench (keyless listens itself).
  const idleErrors: unknown[] = [];
  raw.on('error', (error) => idleErrors.push(error));
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
  const contenders: [string, Pool][] = [
    ['raw pg.Pool, static password', raw],
    ['keyless, Key Vault secret', secretMode],
    ['keyless, Entra token', entraMode],
  ];

  const results: Record<string, { sequential: Series; concurrent: Series }> = {};
  const cold: Record<string, number> = {};
  try {
    // Warm-up: fill every pool to its size, so the timed runs measure queries, not logins.
    for (const [, pool] of contenders) {
      await Promise.all(Array.from({ length: settings.poolSize * 4 }, () => pool.query('SELECT 1')));
    }
    // Rounds interleave the contenders, each round starting with the next one, so drift (CPU
    // frequency, GC, the server's caches) spreads evenly; the best round of each wins.
    for (let round = 0; round < settings.rounds; round += 1) {
      const order = [
        ...contenders.slice(round % contenders.length),
        ...contenders.slice(0, round % contenders.length),
      ];
      for (const [name, pool] of order) {
        const sequential = await run(pool, settings.sequentialQueries, 1);
        const concurrent = await run(pool, settings.concurrentQueries, settings.concurrency);
        const best = results[name];
        results[name] = {
          sequential:
            best && best.sequential.queriesPerSecond > sequential.queriesPerSecond
              ? best.sequential
              : sequential,
          concurrent:
            best && best.concurrent.queriesPerSecond > concurrent.queriesPerSecond
              ? best.concurrent
              : concurrent,
        };
      }
    }
    const child = fileURLToPath(new URL('./cold-start.ts', import.meta.url));
    for (const contender of ['raw', 'keyless-secret', 'keyless-entra']) {
      const samples: number[] = [];
      for (let attempt = 0; attempt < settings.coldStarts; attempt += 1) {
        const { stdout } = await promisify(execFile)(process.execPath, [child, contender], {
          env: { ...process.env, ...stack.env, BENCH_POSTGRES_PASSWORD: password },
        });
        samples.push(
          (JSON.parse(stdout.trim().split('\n').at(-1) as string) as { milliseconds: number }).milliseconds,
        );
      }
      samples.sort((a, b) => a - b);
      cold[contender] = samples[Math.floor(samples.length / 2)] as number;
    }
  } finally {
    // Every pool ends before the server stops, and each step runs even if one before it failed.
    await raw.end().catch((error: unknown) => idleErrors.push(error));
    await secretMode.close();
    await entraMode.close();
    await tokenProvider.close();
    await stack.stop();
  }
  if (idleErrors.length > 0)
    process.stderr.write(`raw pool: ${idleErrors.length} idle connection error(s)\n`);

  const rawResult = results['raw pg.Pool, static password'];
  const addedMicroseconds = (name: string, kind: 'sequential' | 'concurrent') =>
    Number(
      ((results[name]?.[kind].meanMicroseconds ?? 0) - (rawResult?.[kind].meanMicroseconds ?? 0)).toFixed(2),
    );
  const coldName: Record<string, string> = {
    'raw pg.Pool, static password': 'raw',
    'keyless, Key Vault secret': 'keyless-secret',
    'keyless, Entra token': 'keyless-entra',
  };

  const rows = contenders.map(([name]) => {
    const result = results[name] as { sequential: Series; concurrent: Series };
    return {
      contender: name,
      'seq q/s': Math.round(result.sequential.queriesPerSecond),
      'seq µs/query': result.sequential.meanMicroseconds.toFixed(1),
      'seq µs added': addedMicroseconds(name, 'sequential'),
      '16-way q/s': Math.round(result.concurrent.queriesPerSecond),
      '16-way ratio': (
        result.concurrent.queriesPerSecond / (rawResult?.concurrent.queriesPerSecond ?? 1)
      ).toFixed(3),
      'cold first query ms': Math.round(cold[coldName[name] as string] ?? 0),
    };
  });
  console.log(
    `\nPostgreSQL SELECT 1 over TLS, pool of ${settings.poolSize}, best of ${settings.rounds} rounds (Node ${process.version})\n`,
  );
  console.table(rows);

  const report = {
    node: process.version,
    date: new Date().toISOString(),
    settings,
    contenders: Object.fromEntries(
      contenders.map(([name]) => [
        name,
        {
          ...results[name],
          addedMicrosecondsPerQuery: {
            sequential: addedMicroseconds(name, 'sequential'),
            concurrent: addedMicroseconds(name, 'concurrent'),
          },
          concurrentThroughputRatio:
            (results[name]?.concurrent.queriesPerSecond ?? 0) / (rawResult?.concurrent.queriesPerSecond ?? 1),
          coldStartFirstQueryMilliseconds: cold[coldName[name] as string],
        },
      ]),
    ),
  };
  // Read just before writing: the SQL and Redis benchmarks keep their own keys in the same file.
  const folder = join(dirname(fileURLToPath(import.meta.url)), '../../../bench-results');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, 'sql-postgres-redis.json');
  const existing = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)
    : {};
  writeFileSync(file, `${JSON.stringify({ ...existing, postgres: report }, null, 2)}\n`);
  process.stderr.write(`wrote ${file}\n`);
}

async function run(pool: Pool, queries: number, concurrency: number): Promise<Series> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < queries) {
        next += 1;
        await pool.query('SELECT 1');
      }
    }),
  );
  const elapsedMicroseconds = Number(process.hrtime.bigint() - started) / 1000;
  return {
    queries,
    queriesPerSecond: (queries / elapsedMicroseconds) * 1_000_000,
    meanMicroseconds: elapsedMicroseconds / queries,
  };
}
