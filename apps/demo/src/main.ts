// The sample app, first cut: start the local identity endpoint, then fetch a token through
// @keyless/core with each backend and print what it is for and when it expires — never the token.
import { createTokenProvider, isKeylessError, tokenBackendNames } from '@keyless/core';
import { startIdentityEndpoint } from '@keyless/local-azure';
import { decodeJwt } from 'jose';

const scope = process.env.KEYLESS_DEMO_SCOPE ?? 'https://storage.azure.com/.default';

async function main(): Promise<void> {
  console.log('keyless demo: starting the local identity endpoint (App Service protocol)…');
  const endpoint = await startIdentityEndpoint();
  Object.assign(process.env, endpoint.appServiceEnvironment());
  console.log(`  identity endpoint: ${endpoint.url}  issuer: ${endpoint.issuer}`);
  try {
    for (const backend of tokenBackendNames) {
      const provider = createTokenProvider({ backend });
      const requestsBefore = endpoint.counters.tokenRequests;
      const token = await provider.getToken(scope);
      // The audience is read from the token's claims; the token itself is never printed.
      const claims = decodeJwt(token.token);
      const minutesLeft = Math.round((token.expiresOnTimestamp - Date.now()) / 60_000);
      await Promise.all(Array.from({ length: 100 }, () => provider.getToken(scope)));
      console.log(
        [
          `\n${backend}`,
          `  backend:      ${provider.backend}`,
          `  identity:     ${provider.identityDescription} (oid ${String(claims.oid)})`,
          `  audience:     ${String(claims.aud)}`,
          `  expires:      ${new Date(token.expiresOnTimestamp).toISOString()} (in ${minutesLeft} min)`,
          `  refreshes at: ${new Date(token.refreshAfterTimestamp).toISOString()} (in the background)`,
          `  token:        ${JSON.stringify(token)}`,
          `  requests:     ${endpoint.counters.tokenRequests - requestsBefore} to the endpoint for 101 getToken calls`,
        ].join('\n'),
      );
      await provider.close();
    }
  } finally {
    await endpoint.stop();
  }
  console.log('\nkeyless demo: done, identity endpoint stopped.');
}

main().catch((error: unknown) => {
  console.error(isKeylessError(error) ? `keyless demo failed [${error.code}]: ${error.message}` : error);
  process.exitCode = 1;
});
