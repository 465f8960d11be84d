import { randomUUID } from 'node:crypto';
import { ConfigurationError, createTokenProvider, type TokenProvider } from '@keyless/core';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import {
  type InterceptorCertificate,
  remoteLookingHost,
  resolveTestHostsToLoopback,
  type SdkAttackRow,
  sdkClientAttackRows,
  startTlsInterceptor,
  type TlsInterceptor,
  useManagedIdentityEnvironment,
} from '@keyless/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BlobConnector, createBlobConnector } from '../src/index.js';

/**
 * The rule: the bearer token (and what the app uploads) leaves the process only over TLS verified
 * against a trusted CA and the account's name, or to loopback. For every path that could break it,
 * a man in the middle stands at `keyless-target.test` (resolved to 127.0.0.1 in this process only,
 * so keyless must treat it as another machine), relays to Azurite over verified TLS, and records
 * what the client sent. The account path stays `/devstoreaccount1`.
 *
 * Each row says what the typed error, thrown by the first operation, names; then nothing the
 * client sent may have reached the interceptor. The `trusted` row is the control: it proves that
 * this suite sees a token when one does arrive.
 */

/**
 * The rows refused at construction (TLS-weakening options, plain http, NODE_TLS_REJECT_UNAUTHORIZED=0
 * when the connector is made) never reach a socket: they are the configuration group's
 * `tlsWeakening` rows in test/conformance.test.ts. Here: what is refused once a request is under way.
 */
const rows: SdkAttackRow[] = sdkClientAttackRows('accountUrl').filter((row) => row.where !== 'construction');

describe('Blob Storage with a man in the middle', () => {
  const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER as string;
  const canarySecret = `keyless-canary-secret: uploaded ${randomUUID()}`;
  let stack: LocalAzure;
  let tokens: TokenProvider;
  let restoreEnvironment: () => void;
  let restoreDns: () => void;
  let interceptor: TlsInterceptor | undefined;
  let connector: BlobConnector | undefined;

  beforeAll(async () => {
    stack = await startLocalAzure({ services: ['blob'], stateFolder });
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
    restoreDns = resolveTestHostsToLoopback([remoteLookingHost]);
    tokens = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  });

  afterEach(async () => {
    delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    await connector?.close();
    connector = undefined;
    await interceptor?.stop();
    interceptor = undefined;
  });

  afterAll(async () => {
    await tokens?.close();
    restoreDns?.();
    restoreEnvironment?.();
    await stack?.stop();
  });

  const startInterceptor = async (certificate: InterceptorCertificate) => {
    interceptor = await startTlsInterceptor({
      upstreamPort: stack.blob?.port as number,
      certificate,
      stateFolder,
      host: remoteLookingHost,
    });
    return interceptor;
  };

  /** An upload: the token and the blob's content both go to whoever answers. */
  const upload = (blobs: BlobConnector) =>
    blobs.run((client) =>
      client
        .getContainerClient('keyless-demo')
        .getBlockBlobClient('attacker-row.txt')
        .upload(canarySecret, Buffer.byteLength(canarySecret)),
    );

  it.each(rows)('$name: refused at the first request', async (row) => {
    const target = await startInterceptor(row.certificate);
    connector = createBlobConnector({
      accountUrl: `https://${target.host}:${target.port}/devstoreaccount1`,
      tokenProvider: tokens,
      clientOptions: { retryOptions: { maxTries: 1 } },
    });
    if (row.tlsVerificationOff === 'first use') process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    const error = await upload(connector).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ code: 'configuration', retryable: false });
    const message = (error as Error).message;
    if (typeof row.names === 'string') expect(message).toContain(row.names);
    else expect(message).toMatch(row.names);
    // Names only, never values: a failing assertion must not print a token.
    expect(target.leaks({ canarySecret })).toEqual([]);
    expect(target.handshakes).toBe(0);
    if (!row.mayConnect) expect(target.connections).toBe(0);
  });

  it('the certificate errors say how to trust the CA or which name to use', async () => {
    const untrusted = await startInterceptor('untrusted-ca');
    connector = createBlobConnector({
      accountUrl: `https://${untrusted.host}:${untrusted.port}/devstoreaccount1`,
      tokenProvider: tokens,
    });
    const error = await upload(connector).catch((caught: unknown) => caught);
    expect((error as ConfigurationError).hint).toContain('NODE_EXTRA_CA_CERTS');
    expect((error as ConfigurationError).hint).toContain('clientOptions.tlsOptions.ca');
    expect((error as Error).message).toContain(`${remoteLookingHost}:${untrusted.port}`);
  });

  it('control: a trusted interceptor does receive the token and the content, so the rows above could see a leak', async () => {
    const trusted = await startInterceptor('trusted');
    connector = createBlobConnector({
      accountUrl: `https://${trusted.host}:${trusted.port}/devstoreaccount1`,
      tokenProvider: tokens,
      clientOptions: { retryOptions: { maxTries: 1 } },
    });
    // Azurite answers for the account named by the host (`keyless-target`), so the upload itself may
    // fail; what matters is what the client sent before the answer.
    await upload(connector).catch(() => undefined);
    expect(trusted.handshakes).toBeGreaterThan(0);
    expect(trusted.leaks({ canarySecret })).toEqual(['canarySecret', 'a token (JWT)']);
  });

  it('loopback stays allowed as the rule says: the local stack over https, even while NODE_TLS_REJECT_UNAUTHORIZED=0', () => {
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    // Construction only: no connection is made while verification is off.
    expect(() => {
      connector = createBlobConnector({
        accountUrl: stack.env.KEYLESS_BLOB_ACCOUNT_URL,
        tokenProvider: tokens,
      });
    }).not.toThrow();
  });

  it('loopback over plain http stays allowed (Azurite speaks it)', () => {
    expect(() => {
      connector = createBlobConnector({
        accountUrl: 'http://127.0.0.1:10000/devstoreaccount1',
        tokenProvider: tokens,
      });
    }).not.toThrow();
  });
});
