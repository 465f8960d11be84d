// What the token-expiry gateway costs: the same Redis, the same Entra login, INCR over TLS with
// raw ioredis, once through the gateway (Entra mode's default, `expiredTokenConnections: 'close'`)
// and once straight to redis-server's own TLS port (`'keep'`, the launcher before the gateway).
// Rounds alternate between the two so drift hits both. Prints a table; reads dist (build first:
// `pnpm run build`), and Node strips the types.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { ensureLocalCertificateAuthority, startIdentityEndpoint, startRedis } from '../dist/index.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const sequentialOps = Number(process.env.BENCH_SEQUENTIAL_OPS ?? 4000);
const pipelines = Number(process.env.BENCH_PIPELINES ?? 600);
const pipelineSize = 100;

const stateFolder = mkdtempSync(join(tmpdir(), 'keyless-gateway-bench-'));
const authority = await ensureLocalCertificateAuthority(stateFolder);
const identity = await startIdentityEndpoint();
const app = identity.userAssigned[0];
if (!app) throw new Error('no user-assigned identity');
const tls = {
  certPath: authority.serverCertificatePath,
  keyPath: authority.serverKeyPath,
  caPath: authority.caCertificatePath,
};
const instances = {
  gateway: await startRedis({ identity, tls, entraUsers: [{ objectId: app.objectId }] }),
  direct: await startRedis({
    identity,
    tls,
    entraUsers: [{ objectId: app.objectId }],
    expiredTokenConnections: 'keep',
  }),
};

async function token(): Promise<string> {
  const environment = identity.appServiceEnvironment();
  const url = new URL(environment.IDENTITY_ENDPOINT ?? '');
  url.searchParams.set('api-version', '2019-08-01');
  url.searchParams.set('resource', 'https://redis.azure.com');
  url.searchParams.set('client_id', app?.clientId ?? '');
  const response = await fetch(url, { headers: { 'X-IDENTITY-HEADER': environment.IDENTITY_HEADER ?? '' } });
  return ((await response.json()) as { access_token: string }).access_token;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const results: Record<string, { sequential: number[]; pipelined: number[] }> = {
  gateway: { sequential: [], pipelined: [] },
  direct: { sequential: [], pipelined: [] },
};
try {
  const clients = Object.fromEntries(
    await Promise.all(
      Object.entries(instances).map(async ([name, instance]) => {
        const client = new Redis({
          host: '127.0.0.1',
          port: instance.tlsPort,
          username: app.objectId,
          password: await token(),
          tls: { ca: authority.caCertificate },
        });
        await client.ping();
        return [name, client] as const;
      }),
    ),
  );
  for (let round = 0; round < rounds; round += 1) {
    for (const name of round % 2 === 0 ? ['gateway', 'direct'] : ['direct', 'gateway']) {
      const client = clients[name] as Redis;
      let started = performance.now();
      for (let index = 0; index < sequentialOps; index += 1) await client.incr('bench:counter');
      results[name]?.sequential.push(sequentialOps / ((performance.now() - started) / 1000));
      started = performance.now();
      for (let index = 0; index < pipelines; index += 1) {
        const pipeline = client.pipeline();
        for (let op = 0; op < pipelineSize; op += 1) pipeline.incr('bench:counter');
        await pipeline.exec();
      }
      results[name]?.pipelined.push((pipelines * pipelineSize) / ((performance.now() - started) / 1000));
    }
  }
  for (const client of Object.values(clients)) client.disconnect();
} finally {
  await instances.gateway.stop();
  await instances.direct.stop();
  await identity.stop();
  rmSync(stateFolder, { recursive: true, force: true });
}

const row = (name: string) => ({
  'sequential ops/s': Math.round(median(results[name]?.sequential ?? [])),
  'pipelined ops/s (×100)': Math.round(median(results[name]?.pipelined ?? [])),
});
const gateway = row('gateway');
const direct = row('direct');
console.log(
  `\nRedis INCR over TLS, Entra login, raw ioredis (Node ${process.version}, ${rounds} rounds, medians)\n`,
);
console.table({ 'through the gateway': gateway, 'straight to redis-server': direct });
console.log(
  `µs added per op: sequential ${((1 / gateway['sequential ops/s'] - 1 / direct['sequential ops/s']) * 1e6).toFixed(1)}, pipelined ${((1 / gateway['pipelined ops/s (×100)'] - 1 / direct['pipelined ops/s (×100)']) * 1e6).toFixed(2)}`,
);
