import net from 'node:net';
import { ConfigurationError, createTokenProvider, type TokenProvider } from '@keyless/core';
import { untrustedCertificateError } from '@keyless/core/internal';
import { type LocalAzure, type SqlEndpoint, startLocalAzure, startSqlEndpoint } from '@keyless/local-azure';
import {
  attackerCertificate,
  type InterceptorCertificate,
  remoteLookingHost,
  resolveTestHostsToLoopback,
  startTlsInterceptor,
  type TlsInterceptor,
  useManagedIdentityEnvironment,
} from '@keyless/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqlConnector, type SqlConnector } from '../src/index.js';
import { createSqlConnectorWithInternals } from '../src/testing.js';

/**
 * The rule: the access token leaves the process only over TLS verified against a trusted CA and
 * the server's name (or to loopback). For every path that could break it, a server the client
 * must not trust stands at `keyless-target.test` (resolved to 127.0.0.1 in this process only, so
 * keyless treats it as another machine) and records whether a token reached it.
 *
 * - `encrypt: 'strict'` (TDS 8, TLS from the first byte, ALPN tds/8.0): @keyless/testing's TLS
 *   interceptor relays to the stack's SQL endpoint and records what the client sent.
 * - `encrypt: true` (TLS inside PRELOGIN): the generic interceptor cannot relay this, so the attacker
 *   is a second SQL endpoint serving the attacker's certificate; its token verifier records every
 *   FedAuth token that reached it.
 */

/** A server the client must not trust (or, for `trusted`, the control that it may). */
interface Attacker {
  readonly port: number;
  /** TCP connections that reached it. */
  connections(): number;
  /** Names of the secrets that reached it (never their values). */
  leaks(): string[];
  stop(): Promise<void>;
}

interface Row {
  name: string;
  /** The attacker's certificate. */
  certificate: InterceptorCertificate;
  /** NODE_TLS_REJECT_UNAUTHORIZED=0, set after the connector was created, before its query. */
  tlsVerificationOff?: true;
  /** Text the message must contain (the option's path, the variable). */
  names: string;
}

/**
 * What is refused once a login is under way. The options refused at construction
 * (trustServerCertificate, tedious's `options`, `cryptoCredentialsDetails`, rejectUnauthorized,
 * checkServerIdentity, servername, a custom connector, encrypt: false, a connection string as
 * `server`) and NODE_TLS_REJECT_UNAUTHORIZED=0 when the connector is made never reach a socket:
 * they are the configuration group's `tlsWeakening` rows in test/conformance.test.ts;
 * `authentication` with a password is refused by test/sql-option-guards.test.ts.
 */
const rows: Row[] = [
  { name: 'untrusted-ca', certificate: 'untrusted-ca', names: 'not trusted' },
  { name: 'wrong-name', certificate: 'wrong-name', names: 'ERR_TLS_CERT_ALTNAME_INVALID' },
  {
    name: 'NODE_TLS_REJECT_UNAUTHORIZED=0 set after it was created (Node reads it at every connect)',
    certificate: 'untrusted-ca',
    tlsVerificationOff: true,
    names: 'NODE_TLS_REJECT_UNAUTHORIZED=0',
  },
];

describe('Azure SQL with an attacker in front', () => {
  const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER as string;
  // One stack and one provider for the file: the token cache is per process, so a second stack's
  // identity endpoint (other signing keys) would be handed the first one's cached token.
  let stack: LocalAzure;
  let tokens: TokenProvider;
  let restoreEnvironment: () => void;
  let restoreDns: () => void;

  beforeAll(async () => {
    stack = await startLocalAzure({ services: ['sql'], stateFolder });
    restoreEnvironment = useManagedIdentityEnvironment(stack.identity, 'app-service');
    restoreDns = resolveTestHostsToLoopback();
    tokens = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
  });

  afterAll(async () => {
    await tokens?.close();
    restoreDns?.();
    restoreEnvironment?.();
    await stack?.stop();
  });

  describe.each([true, 'strict'] as const)('with encrypt: %s', (encrypt) => {
    const attackers = new Map<InterceptorCertificate, Attacker>();
    const connectors: SqlConnector[] = [];

    /** The JWTs the stack has minted, by name for `leaks` (which reports names, never values). */
    const issuedTokens = () =>
      Object.fromEntries(
        stack.identity.issuedTokens().map((token, index) => [`issued token ${index}`, token]),
      );

    async function startAttacker(certificate: InterceptorCertificate): Promise<Attacker> {
      if (encrypt === 'strict') {
        const interceptor: TlsInterceptor = await startTlsInterceptor({
          upstreamPort: (stack.sql as SqlEndpoint).port,
          certificate,
          stateFolder,
          alpnProtocols: ['tds/8.0'],
        });
        return {
          port: interceptor.port,
          connections: () => interceptor.connections,
          leaks: () => interceptor.leaks(issuedTokens()),
          stop: () => interceptor.stop(),
        };
      }
      let tokensReceived = 0;
      const endpoint = await startSqlEndpoint({
        tls: await attackerCertificate(certificate, remoteLookingHost, stateFolder),
        tenantId: stack.identity.tenantId,
        principals: [{ name: stack.appIdentity.name, objectId: stack.appIdentity.objectId }],
        // The attacker's own "verifier" sees every FedAuth token a client sent it; it counts them.
        tokenVerifier: {
          verifyToken: (token, expected) => {
            tokensReceived += 1;
            return stack.identity.verifyToken(token, expected);
          },
        },
      });
      const counter = await startConnectionCounter(endpoint.port);
      return {
        port: counter.port,
        connections: () => counter.connections,
        leaks: () => {
          const found: string[] = [];
          if (tokensReceived > 0) found.push(`${tokensReceived} FedAuth token(s)`);
          if (endpoint.counters.logins + endpoint.counters.failedLogins > 0) found.push('a login');
          return found;
        },
        stop: async () => {
          await counter.stop();
          await endpoint.stop();
        },
      };
    }

    const connectorTo = (attacker: Attacker) => {
      const created = createSqlConnector({
        server: remoteLookingHost,
        port: attacker.port,
        database: 'keyless',
        encrypt,
        tokenProvider: tokens,
        connectTimeoutMs: 5_000,
      });
      connectors.push(created);
      return created;
    };

    beforeAll(async () => {
      for (const certificate of ['untrusted-ca', 'wrong-name', 'trusted'] as const) {
        attackers.set(certificate, await startAttacker(certificate));
      }
    }, 60_000);

    afterEach(async () => {
      delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      for (const created of connectors.splice(0)) await created.close();
    });

    afterAll(async () => {
      for (const attacker of attackers.values()) await attacker.stop();
    });

    it('control: a server with a trusted certificate for the name does receive the token (a leak would be seen)', async () => {
      const trusted = attackers.get('trusted') as Attacker;
      const sql = connectorTo(trusted);
      expect(await sql.query('SELECT SUSER_SNAME() AS name')).toEqual([{ name: stack.appIdentity.name }]);
      expect(trusted.leaks().length).toBeGreaterThan(0);
    });

    it.each(rows)('$name: refused with a typed error, and no token reaches the server', async (row) => {
      const attacker = attackers.get(row.certificate) as Attacker;
      const connectionsBefore = attacker.connections();
      const sql = connectorTo(attacker);
      if (row.tlsVerificationOff) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
      const error = await sql.query('SELECT 1').then(
        () => 'the query succeeded',
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ code: 'configuration', retryable: false });
      expect((error as Error).message).toContain(row.names);
      expect(String((error as ConfigurationError).hint)).not.toBe('undefined');
      expect(attacker.leaks()).toEqual([]);
      // Refused before a connection was even opened.
      if (row.tlsVerificationOff) expect(attacker.connections()).toBe(connectionsBefore);
    });

    // encrypt: true passes rejectUnauthorized: true to tedious's TLS, so there the variable has no effect.
    if (encrypt === 'strict') {
      it('NODE_TLS_REJECT_UNAUTHORIZED=0 set between the connect check and the TLS handshake: the token is still refused at the handover', async () => {
        const attacker = attackers.get('untrusted-ca') as Attacker;
        // onConnection runs after the check before connecting and before tedious opens the socket,
        // so tedious's TDS 8 handshake runs unverified and accepts the attacker; only the check in
        // the credential, just before the token would be sent, stands between token and attacker.
        const sql = createSqlConnectorWithInternals(
          {
            server: remoteLookingHost,
            port: attacker.port,
            database: 'keyless',
            encrypt,
            tokenProvider: tokens,
            connectTimeoutMs: 5_000,
          },
          {
            onConnection: () => {
              process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
            },
          },
        );
        connectors.push(sql);
        const error = await sql.query('SELECT 1').then(
          () => 'the query succeeded',
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(ConfigurationError);
        expect((error as Error).message).toContain('NODE_TLS_REJECT_UNAUTHORIZED=0');
        expect(attacker.leaks()).toEqual([]);
      });
    }

    it.each(['untrusted-ca', 'wrong-name'] as const)(
      '%s: the error is the one every keyless connector gives for an untrusted certificate',
      async (certificate) => {
        const attacker = attackers.get(certificate) as Attacker;
        const error = await connectorTo(attacker)
          .query('SELECT 1')
          .then(
            () => undefined,
            (caught: unknown) => caught,
          );
        const expected = untrustedCertificateError((error as Error).cause, {
          service: 'Azure SQL',
          target: `${remoteLookingHost}:${attacker.port}`,
          caOption: 'ca',
        });
        expect(expected).toBeDefined();
        expect(error).toBeInstanceOf(ConfigurationError);
        expect((error as Error).message).toBe(expected?.message);
        expect((error as ConfigurationError).hint).toBe(expected?.hint);
        expect(attacker.leaks()).toEqual([]);
      },
    );
  });
});

/** A plain TCP relay that counts the connections made to the server behind it. */
async function startConnectionCounter(upstreamPort: number) {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections += 1;
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
