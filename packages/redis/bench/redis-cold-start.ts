// One cold process: time from process start to the first INCR's reply, for one contender, printed
// as one JSON line. Started by redis.bench.ts with the stack's environment (NODE_EXTRA_CA_CERTS is
// read only at start-up). argv[2] is the contender; KEYLESS_TOKEN_PROVIDER picks the backend, for
// keyless and for the raw contender alike, so each does the same work:
// - raw-static: ioredis with a password in hand (no identity).
// - raw-secret: the managed identity (ManagedIdentityCredential, or MSAL's ManagedIdentityApplication
//   for the msal backend) → SecretClient.getSecret → ioredis with that password.
// - raw-entra: the managed identity's token for Azure Cache for Redis → ioredis as the object id.
// - keyless-secret / keyless-entra: createRedisConnector with fromKeyVaultSecret() / entraToken().
import { createRequire } from 'node:module';

const contender = process.argv[2] as string;
const environment = process.env;
const backend = environment.KEYLESS_TOKEN_PROVIDER === 'msal' ? 'msal' : 'azure-identity';
const host = environment.KEYLESS_REDIS_HOST as string;
const port = Number(environment.KEYLESS_REDIS_TLS_PORT);
const redisScope = 'https://redis.azure.com/.default';

interface Credential {
  getToken(scopes: string | string[]): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

/**
 * The raw library keyless's backend wraps, from where @keyless/core finds it (same copy), and in the
 * build keyless loads: the CommonJS one (core's src/backends/commonjs-build.ts says why), so both
 * contenders pay the same library load and the ratio is keyless's own cost.
 */
async function rawCredential(): Promise<Credential> {
  const fromCore = createRequire(new URL(import.meta.resolve('@keyless/core')));
  const load = async (name: string) => fromCore(name);
  const clientId = environment.AZURE_CLIENT_ID;
  if (backend === 'msal') {
    const { ManagedIdentityApplication } = await load('@azure/msal-node');
    const application = new ManagedIdentityApplication({
      managedIdentityIdParams: clientId ? { userAssignedClientId: clientId } : {},
    });
    return {
      async getToken(scopes) {
        // The SDK passes an array; MSAL's managed identity takes the resource (the scope minus /.default).
        const scope = Array.isArray(scopes) ? (scopes[0] as string) : scopes;
        const result = await application.acquireToken({ resource: scope.replace(/\/\.default$/, '') });
        return { token: result.accessToken, expiresOnTimestamp: result.expiresOn.getTime() };
      },
    };
  }
  const { ManagedIdentityCredential } = await load('@azure/identity');
  return new ManagedIdentityCredential(clientId ? { clientId } : {});
}

let close: () => unknown;
if (contender.startsWith('raw-')) {
  let username = environment.KEYLESS_REDIS_USER;
  let password = environment.BENCH_REDIS_PASSWORD as string;
  if (contender === 'raw-secret') {
    // SecretClient's CommonJS build from where @keyless/keyvault finds it, as keyless loads it
    // (which shares the Azure pipeline packages with @azure/identity's CommonJS build).
    const fromKeyVault = createRequire(new URL(import.meta.resolve('@keyless/keyvault')));
    const [credential, { SecretClient }] = await Promise.all([
      rawCredential(),
      fromKeyVault('@azure/keyvault-secrets') as typeof import('@azure/keyvault-secrets'),
    ]);
    // The local vault is on loopback, whose name no challenge resource matches (keyless does the
    // same, for loopback vault URLs only).
    const client = new SecretClient(environment.KEYLESS_KEYVAULT_URL as string, credential as never, {
      disableChallengeResourceVerification: true,
    });
    password = (await client.getSecret(environment.KEYLESS_REDIS_PASSWORD_SECRET as string)).value as string;
  } else if (contender === 'raw-entra') {
    const credential = await rawCredential();
    password = (await credential.getToken(redisScope))?.token as string;
    username = environment.KEYLESS_REDIS_ENTRA_USER;
  }
  const { Redis } = await import('ioredis');
  // As keyless does: no INFO ready check (Azure's Data Contributor policy refuses INFO).
  const client = new Redis({ host, port, tls: {}, username, password, enableReadyCheck: false });
  await client.incr('bench:cold');
  close = () => client.disconnect();
} else {
  const { entraToken, fromKeyVaultSecret } = await import('@keyless/core');
  const { createRedisConnector } = await import('@keyless/redis');
  const connector = createRedisConnector({
    host,
    port,
    tls: true,
    ...(contender === 'keyless-entra'
      ? { password: entraToken(), user: environment.KEYLESS_REDIS_ENTRA_USER }
      : { password: fromKeyVaultSecret(), user: environment.KEYLESS_REDIS_USER }),
  });
  await connector.client.incr('bench:cold');
  close = () => connector.close();
}
const milliseconds = performance.now();
await close();
process.stdout.write(`${JSON.stringify({ contender, backend, milliseconds })}\n`);
