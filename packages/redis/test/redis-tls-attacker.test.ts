import tls from 'node:tls';
import { entraToken, fromKeyVaultSecret } from '@keyless/core';
import { createKeyVaultConnector } from '@keyless/keyvault';
import {
  type InterceptorCertificate,
  type LeakRecorder,
  remoteLookingHost,
  resolveTestHostsToLoopback,
  startPlaintextRecorder,
  startTlsInterceptor,
} from '@keyless/testing';
import { AbstractConnector, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnector, type RedisConnectorOptions } from '../src/index.ts';
import { setEnvironment, startTestStack, type TestStack } from './support.ts';

/**
 * The rule: a Redis password or token leaves the process only over TLS verified against a trusted
 * CA and the server's name, or to loopback. Each row is one way to break it; the target is a man in
 * the middle on loopback that keyless must treat as another machine (`keyless-target.test`), and
 * each row proves three things: the typed error, where it surfaces, and that nothing reached the
 * interceptor. The `trusted` row is the control: there the credential does arrive, so a leak in the
 * other rows would have been seen.
 */

type Mode = 'secret' | 'entra';
type Target = InterceptorCertificate | 'plaintext';
/**
 * Where the refusal surfaces for the caller: the (synchronous) factory, `connect()` at start-up,
 * the first command of a lazily connecting client, or `duplicate()`.
 */
type Where = 'construction' | 'connect' | 'first command' | 'duplicate';

interface Endpoint {
  host: string;
  port: number;
}

interface AttackRow {
  name: string;
  target: Target;
  where: Where;
  /** The connection settings; default: the target's host and port with `tls: true`. */
  connection?: (target: Endpoint) => Partial<RedisConnectorOptions>;
  /** More options (redisOptions, tls …) on top of the connection. */
  options?: (target: Endpoint) => Partial<RedisConnectorOptions>;
  /** process.env while the connector is created and used. */
  environment?: (target: Endpoint) => Record<string, string | undefined>;
  /** process.env set once the connector exists (the rule is checked at every connect). */
  environmentAfterCreation?: Record<string, string | undefined>;
  duplicate?: Partial<RedisOptions>;
  /** Matched against the error's message and hint. */
  error: RegExp[];
}

/** A connector class that opens a TLS connection without verification: what the guard must refuse. */
class UnverifiedConnector extends AbstractConnector {
  readonly #options: { host?: string; port?: number };
  constructor(options: unknown) {
    super(2000);
    this.#options = options as { host?: string; port?: number };
  }
  connect() {
    this.connecting = true;
    const socket = tls.connect({
      host: this.#options.host,
      port: this.#options.port,
      ...{ rejectUnauthorized: false },
    });
    this.stream = socket;
    return Promise.resolve(socket);
  }
}

const weakened = { rejectUnauthorized: false };
const refused = (option: string) =>
  new RegExp(`\`${option.replaceAll('.', '\\.').replaceAll('(', '\\(').replaceAll(')', '\\)')}\``);
const plaintextRefusal = /without TLS/;
const useTlsPorts = /6380.*10000/;

const rows: AttackRow[] = [
  // TLS options that would weaken verification, at the top level and inside redisOptions.
  {
    name: 'tls.rejectUnauthorized: false',
    target: 'untrusted-ca',
    where: 'construction',
    options: () => ({ tls: weakened as never }),
    error: [refused('tls.rejectUnauthorized')],
  },
  {
    name: 'tls.checkServerIdentity accepting any name',
    target: 'wrong-name',
    where: 'construction',
    options: () => ({ tls: { checkServerIdentity: () => undefined } as never }),
    error: [refused('tls.checkServerIdentity')],
  },
  {
    name: 'tls.servername naming the certificate instead of the host',
    target: 'wrong-name',
    where: 'construction',
    options: () => ({ tls: { servername: 'not-the-target.test' } as never }),
    error: [refused('tls.servername')],
  },
  {
    name: 'tls.host redirecting the socket',
    target: 'untrusted-ca',
    where: 'construction',
    options: (target) => ({ tls: { host: target.host } as never }),
    error: [refused('tls.host')],
  },
  {
    name: 'tls: false with an unverified redisOptions.tls',
    target: 'untrusted-ca',
    where: 'construction',
    options: () => ({ tls: false, redisOptions: { tls: weakened } as never }),
    error: [refused('redisOptions.tls.rejectUnauthorized')],
  },
  {
    name: 'redisOptions.tls beside keyless’s tls',
    target: 'untrusted-ca',
    where: 'construction',
    options: () => ({ redisOptions: { tls: {} } as never }),
    error: [refused('redisOptions.tls')],
  },
  // ioredis options that open another connection or carry another credential.
  {
    name: 'redisOptions.Connector (a custom, unverified transport)',
    target: 'untrusted-ca',
    where: 'construction',
    options: () => ({ redisOptions: { Connector: UnverifiedConnector } as never }),
    error: [refused('redisOptions.Connector')],
  },
  {
    name: 'redisOptions.sentinels',
    target: 'untrusted-ca',
    where: 'construction',
    options: (target) => ({
      redisOptions: { sentinels: [{ host: target.host, port: target.port }], name: 'mymaster' } as never,
    }),
    error: [refused('redisOptions.sentinels')],
  },
  {
    name: 'redisOptions.sentinelPassword',
    target: 'untrusted-ca',
    where: 'construction',
    options: () => ({ redisOptions: { sentinelPassword: 'sentinel-secret' } as never }),
    error: [refused('redisOptions.sentinelPassword')],
  },
  {
    name: 'redisOptions.sentinelTLS (unverified)',
    target: 'untrusted-ca',
    where: 'construction',
    options: () => ({ redisOptions: { sentinelTLS: weakened } as never }),
    error: [refused('redisOptions.sentinelTLS.rejectUnauthorized')],
  },
  {
    name: 'redisOptions.enableTLSForSentinelMode',
    target: 'untrusted-ca',
    where: 'construction',
    options: () => ({ redisOptions: { enableTLSForSentinelMode: true } as never }),
    error: [refused('redisOptions.enableTLSForSentinelMode')],
  },
  {
    name: 'redisOptions.natMap',
    target: 'untrusted-ca',
    where: 'construction',
    options: (target) => ({
      redisOptions: { natMap: { '10.0.0.1:6380': { host: target.host, port: target.port } } } as never,
    }),
    error: [refused('redisOptions.natMap')],
  },
  {
    name: 'redisOptions.path (a Unix socket instead of host:port)',
    target: 'untrusted-ca',
    where: 'construction',
    options: () => ({ redisOptions: { path: '/tmp/keyless-redis-test.sock' } as never }),
    error: [refused('redisOptions.path')],
  },
  {
    name: 'redisOptions.username smuggled in',
    target: 'untrusted-ca',
    where: 'construction',
    options: () => ({ redisOptions: { username: 'default' } as never }),
    error: [refused('redisOptions.username')],
  },
  {
    name: 'redisOptions.password smuggled in',
    target: 'untrusted-ca',
    where: 'construction',
    options: () => ({ redisOptions: { password: 'smuggled-password' } as never }),
    error: [refused('redisOptions.password')],
  },
  {
    name: 'redisOptions.host',
    target: 'untrusted-ca',
    where: 'construction',
    options: (target) => ({ redisOptions: { host: target.host } as never }),
    error: [refused('redisOptions.host')],
  },
  // Plaintext to a host that is not loopback, whichever setting asks for it.
  {
    name: 'tls: false',
    target: 'plaintext',
    where: 'construction',
    options: () => ({ tls: false }),
    error: [plaintextRefusal, /`tls: false`/, useTlsPorts],
  },
  {
    name: 'a port that is not a TLS port, tls unset',
    target: 'plaintext',
    where: 'construction',
    connection: (target) => ({ host: target.host, port: target.port }),
    error: [plaintextRefusal, /not a TLS port/, useTlsPorts],
  },
  {
    name: 'port 6379',
    target: 'plaintext',
    where: 'construction',
    connection: (target) => ({ host: target.host, port: 6379 }),
    error: [plaintextRefusal, /`port: 6379`/, useTlsPorts],
  },
  {
    name: 'KEYLESS_REDIS_HOST and KEYLESS_REDIS_PORT from the environment',
    target: 'plaintext',
    where: 'construction',
    connection: () => ({}),
    environment: (target) => ({
      KEYLESS_REDIS_HOST: target.host,
      KEYLESS_REDIS_PORT: String(target.port),
      KEYLESS_REDIS_TLS_PORT: undefined,
    }),
    error: [plaintextRefusal, /KEYLESS_REDIS_PORT/, useTlsPorts],
  },
  // Verification switched off for the whole process.
  {
    name: 'NODE_TLS_REJECT_UNAUTHORIZED=0 at construction',
    target: 'untrusted-ca',
    where: 'construction',
    environment: () => ({ NODE_TLS_REJECT_UNAUTHORIZED: '0' }),
    error: [/NODE_TLS_REJECT_UNAUTHORIZED/],
  },
  {
    name: 'NODE_TLS_REJECT_UNAUTHORIZED=0 set after construction (checked at connect)',
    target: 'untrusted-ca',
    where: 'first command',
    environmentAfterCreation: { NODE_TLS_REJECT_UNAUTHORIZED: '0' },
    error: [/NODE_TLS_REJECT_UNAUTHORIZED/],
  },
  // Certificates Node does not accept: the one typed error of every connector.
  {
    name: 'a certificate from an untrusted CA',
    target: 'untrusted-ca',
    where: 'connect',
    error: [/TLS certificate is not trusted/, /NODE_EXTRA_CA_CERTS/, /`tls\.ca`/],
  },
  {
    name: 'a trusted certificate for another name',
    target: 'wrong-name',
    where: 'connect',
    error: [/TLS certificate is not trusted \(ERR_TLS_CERT_ALTNAME_INVALID\)/, /host name/],
  },
  {
    name: 'a certificate from an untrusted CA, lazyConnect',
    target: 'untrusted-ca',
    where: 'first command',
    error: [/TLS certificate is not trusted/, /NODE_EXTRA_CA_CERTS/],
  },
  // duplicate() takes ioredis options too.
  {
    name: 'duplicate({ tls: { rejectUnauthorized: false } })',
    target: 'untrusted-ca',
    where: 'duplicate',
    duplicate: { tls: weakened },
    error: [refused('duplicate(override).tls.rejectUnauthorized')],
  },
  {
    name: 'duplicate({ host })',
    target: 'untrusted-ca',
    where: 'duplicate',
    duplicate: { host: remoteLookingHost },
    error: [refused('duplicate(override).host')],
  },
];

describe('Redis credentials never reach a man in the middle', () => {
  let test: TestStack;
  let restoreLookup: () => void;
  /** The seeded Redis password, read from the stack's Key Vault; only ever compared, never printed. */
  let seededPassword: string;
  const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER as string;

  beforeAll(async () => {
    test = await startTestStack();
    restoreLookup = resolveTestHostsToLoopback();
    const vault = createKeyVaultConnector({
      vaultUrl: test.stack.env.KEYLESS_KEYVAULT_URL,
      tokenProvider: test.tokenProvider,
    });
    try {
      seededPassword = await vault.secret('redis-password').get();
    } finally {
      await vault.close();
    }
  });

  afterAll(async () => {
    restoreLookup?.();
    await test?.stop();
  });

  function credentials(mode: Mode): Pick<RedisConnectorOptions, 'password' | 'user'> {
    return mode === 'secret'
      ? {
          password: fromKeyVaultSecret({
            vaultUrl: test.stack.env.KEYLESS_KEYVAULT_URL,
            secretName: 'redis-password',
          }),
          user: 'keyless-app',
        }
      : { password: entraToken(), user: test.stack.appIdentity.objectId };
  }

  async function startTarget(target: Target) {
    if (target === 'plaintext') {
      const recorder: LeakRecorder = await startPlaintextRecorder(remoteLookingHost);
      return { endpoint: recorder, leaks: recorder.leaks, handshakes: () => 0, stop: recorder.stop };
    }
    const interceptor = await startTlsInterceptor({
      upstreamPort: test.stack.redis?.tlsPort as number,
      certificate: target,
      stateFolder,
    });
    return {
      endpoint: interceptor,
      leaks: interceptor.leaks,
      handshakes: () => interceptor.handshakes,
      stop: interceptor.stop,
    };
  }

  interface Outcome {
    where: Where | 'nowhere';
    error?: unknown;
    /** The client's status right after a refused command: `end` means no reconnect loop. */
    statusAfterRefusal?: string;
    value?: unknown;
  }

  async function attack(row: AttackRow, mode: Mode, endpoint: Endpoint): Promise<Outcome> {
    // The rows refused later than construction let the first command (or nothing) connect.
    const lazy = row.where === 'first command' || row.where === 'duplicate';
    const connection = row.connection?.(endpoint) ?? { host: endpoint.host, port: endpoint.port, tls: true };
    const extra = row.options?.(endpoint) ?? {};
    const options: RedisConnectorOptions = {
      ...connection,
      ...extra,
      ...credentials(mode),
      tokenProvider: test.tokenProvider,
      redisOptions: { ...(extra.redisOptions ?? {}), ...(lazy ? { lazyConnect: true } : {}) },
    };
    const restore = setEnvironment(row.environment?.(endpoint) ?? {});
    let restoreAfterCreation = () => {};
    try {
      let connector: ReturnType<typeof createRedisConnector>;
      try {
        connector = createRedisConnector(options);
      } catch (error) {
        return { where: 'construction', error } satisfies Outcome;
      }
      try {
        restoreAfterCreation = setEnvironment(row.environmentAfterCreation ?? {});
        if (row.duplicate) {
          try {
            connector.duplicate(row.duplicate);
          } catch (error) {
            return { where: 'duplicate', error } satisfies Outcome;
          }
        }
        const { client } = connector;
        client.on('error', () => {});
        if (!lazy) {
          try {
            await connector.connect();
          } catch (error) {
            return { where: 'connect', error, statusAfterRefusal: client.status } satisfies Outcome;
          }
        }
        try {
          return { where: 'nowhere', value: await client.incr('attacker:control') } satisfies Outcome;
        } catch (error) {
          return { where: 'first command', error, statusAfterRefusal: client.status } satisfies Outcome;
        }
      } finally {
        restoreAfterCreation();
        await connector.close();
      }
    } finally {
      restore();
    }
  }

  for (const mode of ['secret', 'entra'] as const) {
    describe(`${mode === 'secret' ? 'Key Vault secret' : 'Entra token'} mode`, () => {
      it.each(rows.map((row) => [row.name, row] as const))('refuses %s', async (_name, row) => {
        const target = await startTarget(row.target);
        try {
          const outcome: Outcome = await attack(row, mode, target.endpoint);
          expect(outcome.where).toBe(row.where);
          // By name and code: vitest may load @keyless/core twice (inlined and native).
          expect(outcome.error).toMatchObject({ name: 'ConfigurationError', code: 'configuration' });
          const { message, hint } = outcome.error as { message: string; hint?: string };
          for (const pattern of row.error) expect(`${message} ${hint ?? ''}`).toMatch(pattern);
          // Refused at connect time: the client ends instead of reconnecting in a loop.
          if (row.where === 'first command' || row.where === 'connect') {
            expect(outcome.statusAfterRefusal).toBe('end');
          }
          expect(target.handshakes()).toBe(0);
          expect(target.leaks({ 'the Redis password': seededPassword })).toEqual([]);
        } finally {
          await target.stop();
        }
      });

      it('sends the credential to a trusted interceptor (the control: a leak would be seen)', async () => {
        const target = await startTarget('trusted');
        try {
          const outcome: Outcome = await attack(
            { name: 'trusted', target: 'trusted', where: 'construction', error: [] },
            mode,
            target.endpoint,
          );
          expect(outcome.where).toBe('nowhere');
          expect(typeof outcome.value).toBe('number');
          expect(target.handshakes()).toBeGreaterThan(0);
          expect(target.leaks({ 'the Redis password': seededPassword })).toEqual(
            mode === 'secret' ? ['the Redis password'] : ['a token (JWT)'],
          );
        } finally {
          await target.stop();
        }
      });
    });
  }
});
