// The release check's smoke script: plain JavaScript in a fresh npm project where only the packed
// tarballs (and their peers from npm) are installed. It starts the local stack from the installed
// @keyless/local-azure and uses each installed connector once, printing one line per step and
// never a token or a secret value.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createBlobConnector } from '@keyless/blob';
import { createTokenProvider, tokenBackendNames } from '@keyless/core';
import { createKeyVaultConnector } from '@keyless/keyvault';
import { ensureLocalCertificateAuthority, startLocalAzure } from '@keyless/local-azure';
import { createPostgresConnector, fromKeyVaultSecret } from '@keyless/postgres';
import { createRedisConnector, fromKeyVaultSecret as redisPasswordFromKeyVault } from '@keyless/redis';
import { createSqlConnector } from '@keyless/sql';

const stateFolder = resolve('.keyless-local');

function step(text) {
  process.stdout.write(`smoke: ${text}\n`);
}

/**
 * Node reads NODE_EXTRA_CA_CERTS only at start, and Azurite's client takes no `ca` option, so the
 * script makes the stack's CA first and runs itself again trusting it (as apps/demo does).
 * Returns the child's exit code, or undefined when this process already trusts the CA.
 */
async function relaunchTrustingLocalCa() {
  const authority = await ensureLocalCertificateAuthority(stateFolder);
  const current = process.env.NODE_EXTRA_CA_CERTS;
  if (current && resolve(current) === resolve(authority.caCertificatePath)) return undefined;
  const child = spawn(process.execPath, [process.argv[1]], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: authority.caCertificatePath },
  });
  return await new Promise((done) => {
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
    child.on('error', () => done(1));
  });
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
  const container = blob.container('release-check');
  await container.createIfNotExists();
  const text = `written by the release check at ${new Date().toISOString()}`;
  const blockBlob = container.getBlockBlobClient('smoke.txt');
  await blockBlob.upload(text, Buffer.byteLength(text));
  const readBack = (await blockBlob.downloadToBuffer()).toString('utf8');
  if (readBack !== text) throw new Error('the blob read back differs from the one written');
  step(`blob release-check/smoke.txt written and read back (${Buffer.byteLength(text)} bytes)`);

  const keyVault = createKeyVaultConnector({ tokenProvider });
  closers.push(() => keyVault.close());
  const secret = keyVault.secret('demo-message');
  const value = await secret.get();
  if (value.length === 0) throw new Error('the secret is empty');
  step(`secret demo-message read through a secret source (${value.length} characters)`);

  const sql = createSqlConnector({ tokenProvider });
  closers.push(() => sql.close());
  const [login] = await sql.query('SELECT SUSER_SNAME() AS login');
  step(`sql SELECT SUSER_SNAME() = ${login?.login}`);

  const postgres = createPostgresConnector({
    password: fromKeyVaultSecret({ connector: keyVault }),
    tokenProvider,
  });
  closers.push(() => postgres.close());
  const result = await postgres.query('SELECT current_user AS role, 6 * 7 AS answer');
  step(`postgres SELECT current_user, 6 * 7 = ${result.rows[0].role}, ${result.rows[0].answer}`);

  const redis = await createRedisConnector({
    auth: redisPasswordFromKeyVault({
      connector: keyVault,
      secretName: process.env.KEYLESS_REDIS_PASSWORD_SECRET ?? 'redis-password',
    }),
    tokenProvider,
  });
  closers.push(() => redis.close());
  const count = await redis.client.incr('release-check:smoke');
  step(`redis INCR release-check:smoke = ${count}`);
}

const exitCode = await relaunchTrustingLocalCa();
if (exitCode !== undefined) process.exit(exitCode);

const stack = await startLocalAzure({ stateFolder });
// Before the first token request: MSAL picks the managed-identity source once per process.
Object.assign(process.env, stack.env);
step(`stack started: ${stack.services.join(', ')}`);
const closers = [];
try {
  await useEveryConnector(closers);
} catch (error) {
  // keyless errors never carry a token or a secret, so the message is safe to print.
  step(`FAILED: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  process.exitCode = 1;
} finally {
  for (const close of closers.reverse()) await close();
  await stack.stop();
  step('stack stopped');
}
