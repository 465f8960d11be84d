import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AzureLogger, setLogLevel } from '@azure/logger';
import { BlobServiceClient } from '@azure/storage-blob';
import { createTokenProvider, type TokenProvider } from '@keyless/core';
import { createTokenProviderWithInternals } from '@keyless/core/testing';
import { startIdentityEndpoint } from '@keyless/local-azure';
import { describe, expect, it } from 'vitest';
import { findLeaks, OutputCapture, renderEveryWay, useManagedIdentityEnvironment } from '../src/index.js';

/**
 * The canary run: tokens and errors flow through both backends and a real SDK client with the
 * Azure SDK's most verbose logging on and the application printing everything it gets; then no
 * token the endpoint ever issued may appear anywhere in what was printed or thrown.
 */
describe('canary: no token text escapes', () => {
  it('leaves no issued token in output, logs, errors, events or inspected objects', async () => {
    const capture = new OutputCapture({ passThrough: false }).start();
    const endpoint = await startIdentityEndpoint();
    const restoreEnvironment = useManagedIdentityEnvironment(endpoint, 'imds');
    setLogLevel('verbose');
    AzureLogger.log = (...args: unknown[]) => console.error(...args);
    const server = createServer(
      {
        cert: readFileSync(process.env.KEYLESS_TEST_SERVER_CERT as string),
        key: readFileSync(process.env.KEYLESS_TEST_SERVER_KEY as string),
      },
      (request, response) => {
        // A misbehaving service that echoes the Authorization header into its error: the SDK's
        // error must still not carry the token once keyless's redaction has had a say.
        console.log('service saw', request.method, request.url);
        response.writeHead(200, { etag: '"1"', 'last-modified': new Date().toUTCString() });
        response.end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const providers: TokenProvider[] = [];
    try {
      for (const backend of ['azure-identity', 'msal'] as const) {
        const provider = createTokenProviderWithInternals({ backend }, { baseRetryDelayMs: 10 });
        providers.push(provider);
        for (const name of ['acquired', 'refreshed', 'refresh-failed', 'throttled'] as const) {
          provider.on(name, (event) => console.log(`event ${name}`, event));
        }
        const token = await provider.getToken('https://storage.azure.com/.default');
        console.log('got token', token, JSON.stringify(token));
        console.log('provider', provider);
        const client = new BlobServiceClient(
          `https://127.0.0.1:${(server.address() as AddressInfo).port}/devstoreaccount1`,
          provider,
        );
        await client.getContainerClient('canary').exists();

        endpoint.faults.throttle({ count: 1, retryAfterSeconds: 0 });
        console.log(
          'after throttle',
          await provider.getToken(`https://canary-throttle-${backend}.example/.default`),
        );
        for (const fault of [
          () => endpoint.faults.failWith(403),
          () => endpoint.faults.failWith(500),
          () => endpoint.faults.outage(),
        ]) {
          fault();
          const error = await provider
            .getToken(`https://canary-${backend}-${Math.random()}.example/.default`)
            .catch((caught: unknown) => caught);
          endpoint.faults.clear();
          console.error('request failed:', error);
          capture.add(...renderEveryWay(error));
        }
        capture.add(...renderEveryWay(token), ...renderEveryWay(provider));
      }
      try {
        createTokenProvider({ environment: { KEYLESS_TOKEN_PROVIDER: 'nope' } });
      } catch (error) {
        console.error(error);
      }
    } finally {
      setLogLevel('warning');
      capture.stop();
      await Promise.all(providers.map((provider) => provider.close()));
      server.closeAllConnections();
      server.close();
      restoreEnvironment();
      await endpoint.stop();
    }
    const issued = endpoint.issuedTokens();
    expect(issued.length).toBeGreaterThanOrEqual(4);
    expect(capture.text).toContain('event acquired'); // the capture really saw the run
    expect(capture.text).toContain('azure:'); // and the SDK's verbose log
    expect(findLeaks(capture.text, issued)).toEqual([]);
  });
});
