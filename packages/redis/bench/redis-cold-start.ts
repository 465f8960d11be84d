// One cold process: time from process start to the first INCR's reply, for one contender.
// Prints the milliseconds as one JSON line.
const mode = process.argv[2];
const host = process.env.KEYLESS_REDIS_HOST as string;
const port = Number(process.env.KEYLESS_REDIS_TLS_PORT);

let close: () => unknown;
if (mode === 'raw') {
  const { Redis } = await import('ioredis');
  const client = new Redis({
    host,
    port,
    tls: {},
    username: 'keyless-app',
    password: process.env.BENCH_REDIS_PASSWORD as string,
  });
  await client.incr('bench:cold');
  close = () => client.disconnect();
} else {
  const { entraToken, fromKeyVaultSecret } = await import('@keyless/core');
  const { createRedisConnector } = await import('@keyless/redis');
  // Entra: the user is the identity's object id, from KEYLESS_REDIS_ENTRA_USER.
  const connector = createRedisConnector({
    host,
    port,
    tls: true,
    ...(mode === 'entra'
      ? { password: entraToken() }
      : { password: fromKeyVaultSecret({ secretName: 'redis-password' }), user: 'keyless-app' }),
  });
  await connector.client.incr('bench:cold');
  close = () => connector.close();
}
const elapsedMs = performance.now();
await close();
process.stdout.write(`${JSON.stringify({ mode, elapsedMs })}\n`);
