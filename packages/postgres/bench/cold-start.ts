// One cold process: import, get what the login needs, run one `SELECT 1`, and report how long after
// process start that first answer came. Started by postgres.bench.ts with the stack's environment
// (NODE_EXTRA_CA_CERTS is read only at start-up). argv[2] is the contender; KEYLESS_TOKEN_PROVIDER
// picks the backend, for keyless and for the raw contender alike, so each does the same work:
// - raw-static: pg.Pool with a password in hand (what the 116 ms measured; no identity).
// - raw-secret: the managed identity (ManagedIdentityCredential, or MSAL's ManagedIdentityApplication
//   for the msal backend) → SecretClient.getSecret → pg.Pool with that password.
// - raw-entra: the managed identity's token for Azure Database for PostgreSQL → pg.Pool.
// - keyless-secret / keyless-entra: createPostgresConnector with fromKeyVaultSecret() / entraToken().
import { createRequire } from 'node:module';

const contender = process.argv[2] as string;
const environment = process.env;
const backend = environment.KEYLESS_TOKEN_PROVIDER === 'msal' ? 'msal' : 'azure-identity';
const entraScope = 'https://ossrdbms-aad.database.windows.net/.default';
let firstQuery: () => Promise<unknown>;
let close: () => Promise<void>;

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

async function rawPool(user: string | undefined, password: string) {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    host: environment.KEYLESS_POSTGRES_HOST,
    port: Number(environment.KEYLESS_POSTGRES_PORT),
    database: environment.KEYLESS_POSTGRES_DATABASE,
    user,
    password,
    ssl: true,
  });
  // An idle client's error (the server stopping) is re-emitted on the pool: never leave it unhandled.
  pool.on('error', () => {});
  return pool;
}

if (contender.startsWith('raw-')) {
  let user = environment.KEYLESS_POSTGRES_USER;
  let password = environment.BENCH_POSTGRES_PASSWORD as string;
  if (contender === 'raw-secret') {
    // SecretClient's CommonJS build from where @keyless/keyvault finds it, as keyless loads it
    // (which shares the Azure pipeline packages with @azure/identity's CommonJS build).
    const fromKeyVault = createRequire(new URL(import.meta.resolve('@keyless/keyvault')));
    const [credential, { SecretClient }] = await Promise.all([
      rawCredential(),
      fromKeyVault('@azure/keyvault-secrets') as typeof import('@azure/keyvault-secrets'),
    ]);
    // The local vault is on loopback, whose name no challenge resource matches (as keyless does
    // for loopback vault URLs only).
    const client = new SecretClient(environment.KEYLESS_KEYVAULT_URL as string, credential as never, {
      disableChallengeResourceVerification: true,
    });
    password = (await client.getSecret(environment.KEYLESS_POSTGRES_PASSWORD_SECRET as string))
      .value as string;
  } else if (contender === 'raw-entra') {
    const credential = await rawCredential();
    password = (await credential.getToken(entraScope))?.token as string;
    user = environment.KEYLESS_POSTGRES_ENTRA_USER;
  }
  const pool = await rawPool(user, password);
  firstQuery = () => pool.query('SELECT 1');
  close = () => pool.end();
} else {
  const { entraToken, fromKeyVaultSecret } = await import('@keyless/core');
  const { createPostgresConnector } = await import('@keyless/postgres');
  const connector = createPostgresConnector(
    contender === 'keyless-entra'
      ? { password: entraToken(), user: environment.KEYLESS_POSTGRES_ENTRA_USER }
      : { password: fromKeyVaultSecret() },
  );
  firstQuery = () => connector.query('SELECT 1');
  close = () => connector.close();
}

await firstQuery();
const milliseconds = performance.now();
await close();
process.stdout.write(`${JSON.stringify({ contender, backend, milliseconds })}\n`);
