import { entraToken, fromKeyVaultSecret } from '@keyless/core';
import { createKeyVaultConnector } from '@keyless/keyvault';
import {
  type InterceptorCertificate,
  remoteLookingHost,
  resolveTestHostsToLoopback,
  startTlsInterceptor,
} from '@keyless/testing';
import type { RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnector, type RedisConnectorOptions } from '../src/index.ts';
import { setEnvironment, startTestStack, type TestStack } from './support.ts';

/**
 * The rule: a Redis password or token leaves the process only over TLS verified against a trusted
 * CA and the server's name, or to loopback. Each row is one way to break it that gets past
 * construction; the target is a man in the middle on loopback that keyless must treat as another
 * machine (`keyless-target.test`), and each row proves three things: the typed error, where it
 * surfaces, and that nothing reached the interceptor. The `trusted` row is the control: there the credential does arrive, so a leak in the
 * other rows would have been seen.
 */

type Mode = 'secret' | 'entra';
/**
 * Where the refusal surfaces for the caller: `connect()` at start-up, the first command of a lazily
 * connecting client, or `duplicate()`. (`construction`: only when a row is refused earlier than it
 * should be, so the failure says so.)
 */
type Where = 'construction' | 'connect' | 'first command' | 'duplicate';

interface Endpoint {
  host: string;
  port: number;
}

interface AttackRow {
  name: string;
  target: InterceptorCertificate;
  where: Where;
  /** process.env set once the connector exists (the rule is checked at every connect). */
  environmentAfterCreation?: Record<string, string | undefined>;
  duplicate?: Partial<RedisOptions>;
  /** Matched against the error's message and hint. */
  error: RegExp[];
}

const weakened = { rejectUnauthorized: false };
const refused = (option: string) =>
  new RegExp(`\`${option.replaceAll('.', '\\.').replaceAll('(', '\\(').replaceAll(')', '\\)')}\``);

/**
 * The paths refused at construction (TLS options at any depth of `tls` and `redisOptions`, ioredis
 * options that open another connection or carry another credential, plaintext to another machine
 * from any setting, NODE_TLS_REJECT_UNAUTHORIZED=0 when the connector is made) open no socket: they
 * are the configuration group's `tlsWeakening` rows in test/conformance.test.ts. Here: what is
 * refused once a connection is under way, or by duplicate().
 */
const rows: AttackRow[] = [
  // Verification switched off for the whole process after the connector was made.
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

  async function startTarget(target: InterceptorCertificate) {
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
    const options: RedisConnectorOptions = {
      host: endpoint.host,
      port: endpoint.port,
      tls: true,
      ...credentials(mode),
      tokenProvider: test.tokenProvider,
      redisOptions: lazy ? { lazyConnect: true } : {},
    };
    let connector: ReturnType<typeof createRedisConnector>;
    try {
      connector = createRedisConnector(options);
    } catch (error) {
      return { where: 'construction', error } satisfies Outcome;
    }
    const restoreAfterCreation = setEnvironment(row.environmentAfterCreation ?? {});
    try {
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
