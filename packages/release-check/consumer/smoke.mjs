// The release check's smoke script: plain JavaScript in a fresh npm project where only the packed
// tarballs (and their peers from npm) are installed. It starts the local stack from the installed
// @keyless/local-azure, starts each installed connector the way an application does at start-up
// (the factory, then `await connector.connect()` to fail fast) and uses it once, printing one line
// per step and never a token or a secret value. Only root exports are used, as an application does. The release check runs it with the catalog's peers on our Node,
// with the lowest and the newest peers and Node the ranges allow, and once with debug output on.
//
// Then it rotates the PostgreSQL and Redis passwords and restarts both servers, so the connections
// the connectors hold die and the next ones are refused with the password they cached: that runs
// the driver internals the connectors build on (ioredis's recoverFromFatalError, prevCommandQueue,
// condition.auth and connectionEpoch; pg.Pool/pg.Client subclasses and the password fields they
// clear), in whichever driver version is installed.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createBlobConnector } from '@keyless/blob';
import { createTokenProvider, fromKeyVaultSecret, tokenBackendNames } from '@keyless/core';
import { createKeyVaultConnector } from '@keyless/keyvault';
import { ensureLocalCertificateAuthority, startLocalAzure, trustBundleFor } from '@keyless/local-azure';
import { createPostgresConnector } from '@keyless/postgres';
import { createRedisConnector } from '@keyless/redis';
import { createSqlConnector } from '@keyless/sql';

const stateFolder = resolve('.keyless-local');

function step(text) {
  process.stdout.write(`smoke: ${text}\n`);
}

/**
 * Node reads NODE_EXTRA_CA_CERTS only at start, and Azurite's client takes no `ca` option, so the
 * script makes the stack's CA first and runs itself again trusting it (as apps/demo does). The
 * local CA joins whatever the user's NODE_EXTRA_CA_CERTS already trusts (a proxy's CA, say):
 * `trustBundleFor` gives a bundle of both, never the local CA instead.
 * Returns the child's exit code, or undefined when this process already trusts the CA.
 */
async function relaunchTrustingLocalCa() {
  const authority = await ensureLocalCertificateAuthority(stateFolder);
  const bundle = await trustBundleFor(authority, process.env);
  const current = process.env.NODE_EXTRA_CA_CERTS;
  if (current && resolve(current) === resolve(bundle)) return undefined;
  const child = spawn(process.execPath, [process.argv[1]], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: bundle },
  });
  return await new Promise((done) => {
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
    child.on('error', () => done(1));
  });
}

/**
 * For the debug-output census only (KEYLESS_SMOKE_SECRETS_FILE): the credentials this run used, by
 * kind, written to a file the release check reads and deletes. Never printed.
 */
const usedSecrets = { 'Redis password': new Set(), 'PostgreSQL password': new Set() };

async function recordSecrets(keyVault) {
  if (!process.env.KEYLESS_SMOKE_SECRETS_FILE) return;
  for (const [kind, name] of [
    ['Redis password', 'redis-password'],
    ['PostgreSQL password', 'postgres-password'],
  ]) {
    const source = keyVault.secret(name);
    source.invalidate();
    usedSecrets[kind].add(await source.get());
  }
}

function writeSecretsFile() {
  const file = process.env.KEYLESS_SMOKE_SECRETS_FILE;
  if (!file) return;
  const entries = Object.entries(usedSecrets).map(([kind, values]) => [kind, [...values]]);
  entries.push(['X-IDENTITY-HEADER', [process.env.IDENTITY_HEADER ?? ''].filter(Boolean)]);
  writeFileSync(file, JSON.stringify(Object.fromEntries(entries)), { mode: 0o600 });
}

async function useEveryConnector(closers) {
  const providers = tokenBackendNames.map((backend) => createTokenProvider({ backend }));
  closers.push(...providers.map((provider) => () => provider.close()));
  for (const provider of providers) {
    const token = await provider.getToken('https://storage.azure.com/.default');
    if (typeof token.token !== 'string' || token.token.length === 0) throw new Error('empty token');
    const minutes = Math.round((token.expiresOnTimestamp - Date.now()) / 60_000);
    step(`token from ${provider.backend}: ${token.tokenType}, expires in ${minutes} min`);
  }
  const [tokenProvider] = providers;

  const blob = createBlobConnector({ tokenProvider });
  closers.push(() => blob.close());
  // The container does not exist yet, so connect() checks the account (List Containers).
  await blob.connect();
  step('blob connect() resolved');
  const container = blob.containerClient('release-check');
  // A fresh stack has no such container. (createIfNotExists is newer than the oldest SDK in range.)
  await container.create();
  const text = `written by the release check at ${new Date().toISOString()}`;
  const blockBlob = container.getBlockBlobClient('smoke.txt');
  await blockBlob.upload(text, Buffer.byteLength(text));
  const readBack = (await blockBlob.downloadToBuffer()).toString('utf8');
  if (readBack !== text) throw new Error('the blob read back differs from the one written');
  step(`blob release-check/smoke.txt written and read back (${Buffer.byteLength(text)} bytes)`);

  const keyVault = createKeyVaultConnector({ tokenProvider });
  closers.push(() => keyVault.close());
  // Reads the secret now and caches it: the get() below is served from the secret source.
  await keyVault.connect({ secrets: ['demo-message'] });
  step('key vault connect() resolved');
  const secret = keyVault.secret('demo-message');
  const value = await secret.get();
  if (value.length === 0) throw new Error('the secret is empty');
  step(`secret demo-message read through a secret source (${value.length} characters)`);

  const sql = createSqlConnector({ tokenProvider });
  closers.push(() => sql.close());
  await sql.connect();
  step('sql connect() resolved');
  const [login] = await sql.query('SELECT SUSER_SNAME() AS login');
  step(`sql SELECT SUSER_SNAME() = ${login?.login}`);

  // The password is the Key Vault secret KEYLESS_POSTGRES_PASSWORD_SECRET names, read through the
  // vault connector above; the user is KEYLESS_POSTGRES_USER (both from the stack's environment).
  const postgres = createPostgresConnector({
    password: fromKeyVaultSecret({ connector: keyVault }),
    tokenProvider,
  });
  closers.push(() => postgres.close());
  await postgres.connect();
  step('postgres connect() resolved');
  const result = await postgres.query('SELECT current_user AS role, 6 * 7 AS answer');
  step(`postgres SELECT current_user, 6 * 7 = ${result.rows[0].role}, ${result.rows[0].answer}`);

  // The same password source for Redis: KEYLESS_REDIS_PASSWORD_SECRET, as KEYLESS_REDIS_USER.
  const redis = createRedisConnector({
    password: fromKeyVaultSecret({ connector: keyVault }),
    tokenProvider,
  });
  closers.push(() => redis.close());
  await redis.connect();
  step('redis connect() resolved');
  const count = await redis.client.incr('release-check:smoke');
  step(`redis INCR release-check:smoke = ${count}`);
  return { keyVault, postgres, redis };
}

/**
 * New passwords on both servers and in Key Vault, then both servers restarted: the pooled
 * PostgreSQL connection and the Redis connection die, and the connectors reconnect with the
 * password they cached, which the servers now refuse. They must fetch the new one and carry on.
 */
async function surviveRotationAndRestart(stack, { keyVault, postgres, redis }) {
  await recordSecrets(keyVault);
  await stack.rotatePostgresPassword();
  await stack.rotateRedisPassword();
  await Promise.all([stack.postgres.restart(), stack.redis.restart()]);
  step('rotated the PostgreSQL and Redis passwords and restarted both servers');
  const result = await postgres.query('SELECT 6 * 7 AS answer');
  step(`postgres after rotation and restart: SELECT 6 * 7 = ${result.rows[0].answer}`);
  // Redis keeps no data across the restart: the counter starts again.
  const count = await redis.client.incr('release-check:smoke');
  step(`redis after rotation and restart: INCR release-check:smoke = ${count}`);
  await recordSecrets(keyVault);
}

const exitCode = await relaunchTrustingLocalCa();
if (exitCode !== undefined) process.exit(exitCode);

step(`running on Node ${process.version}`);
const stack = await startLocalAzure({ stateFolder });
// Before the first token request: MSAL picks the managed-identity source once per process.
Object.assign(process.env, stack.env);
step(`stack started: ${stack.services.join(', ')}`);
const closers = [];
try {
  const connectors = await useEveryConnector(closers);
  await surviveRotationAndRestart(stack, connectors);
} catch (error) {
  // keyless errors never carry a token or a secret, so the message is safe to print.
  step(`FAILED: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  process.exitCode = 1;
} finally {
  for (const close of closers.reverse()) await close();
  writeSecretsFile();
  await stack.stop();
  step('stack stopped');
}
