// One cold process: time from process start to the first secret's value in hand, for one contender,
// printed as one JSON line. Started by blob-keyvault.bench.ts with the stack's environment
// (NODE_EXTRA_CA_CERTS is read only at start-up). argv[2] is the contender; KEYLESS_TOKEN_PROVIDER
// picks the backend, for keyless and for the raw contender alike, so each does the same work:
// - raw: the managed identity (ManagedIdentityCredential, or MSAL's ManagedIdentityApplication for
//   the msal backend) → SecretClient.getSecret.
// - keyless: createKeyVaultConnector().secret(name).get().
// Like with like: the raw libraries load in the builds keyless loads — their CommonJS builds, from
// where @keyless/core and @keyless/keyvault find them (the same copies; core's
// src/backends/commonjs-build.ts and this package's src/secrets-library.ts say why) — so the ratio
// is keyless's own cost, not a difference in how a library was loaded.
import { createRequire } from 'node:module';

const contender = process.argv[2] as string;
const environment = process.env;
const backend = environment.KEYLESS_TOKEN_PROVIDER === 'msal' ? 'msal' : 'azure-identity';
const vaultUrl = environment.KEYLESS_KEYVAULT_URL as string;
const secretName = environment.BENCH_SECRET_NAME as string;

interface Credential {
  getToken(scopes: string | string[]): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

function rawCredential(): Credential {
  const fromCore = createRequire(new URL(import.meta.resolve('@keyless/core')));
  const clientId = environment.AZURE_CLIENT_ID;
  if (backend === 'msal') {
    // MSAL's types are not a dependency of this package: the little used here, spelled out.
    const { ManagedIdentityApplication } = fromCore('@azure/msal-node') as {
      ManagedIdentityApplication: new (configuration: {
        managedIdentityIdParams: { userAssignedClientId?: string };
      }) => {
        acquireToken(request: { resource: string }): Promise<{ accessToken: string; expiresOn: Date }>;
      };
    };
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
  const { ManagedIdentityCredential } = fromCore('@azure/identity') as typeof import('@azure/identity');
  return new ManagedIdentityCredential(clientId ? { clientId } : {});
}

let value: string | undefined;
let close: () => Promise<void> = async () => {};
if (contender === 'raw') {
  const credential = rawCredential();
  const fromKeyVault = createRequire(new URL(import.meta.resolve('@keyless/keyvault')));
  const { SecretClient } = fromKeyVault(
    '@azure/keyvault-secrets',
  ) as typeof import('@azure/keyvault-secrets');
  // The local vault is on loopback, whose name no challenge resource matches (keyless does the
  // same, for loopback vault URLs only).
  const client = new SecretClient(vaultUrl, credential as never, {
    disableChallengeResourceVerification: true,
  });
  value = (await client.getSecret(secretName)).value;
} else {
  const { createKeyVaultConnector } = await import('@keyless/keyvault');
  const connector = createKeyVaultConnector();
  value = await connector.secret(secretName).get();
  close = () => connector.close();
}
const milliseconds = performance.now();
if (!value) throw new Error('no secret value');
await close();
process.stdout.write(`${JSON.stringify({ contender, backend, milliseconds })}\n`);
