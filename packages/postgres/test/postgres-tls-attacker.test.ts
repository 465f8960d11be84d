import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AuthenticationFailedError,
  ConfigurationError,
  createTokenProvider,
  entraToken,
  fromKeyVaultSecret,
  type KeylessError,
  type TokenProvider,
} from '@keyless/core';
import { createKeyVaultConnector, type KeyVaultConnector } from '@keyless/keyvault';
import { type LocalAzure, startLocalAzure } from '@keyless/local-azure';
import {
  type InterceptorCertificate,
  resolveTestHostsToLoopback,
  startTlsInterceptor,
  type TlsInterceptor,
  useManagedIdentityEnvironment,
} from '@keyless/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresConnector, type PostgresConnector } from '../src/index.js';

/**
 * The rule: the password (a Key Vault secret) or the token (a JWT) leaves the process only over TLS
 * verified against a trusted CA *and* the server's name, or to loopback. Every row points the
 * connector at a man in the middle on loopback that keyless must treat as another machine
 * (`keyless-target.test`) and tries one way of breaking
 * the rule that gets past construction: a certificate, an `ssl: { ca }` that still checks the name,
 * the environment pg or Node reads. Each row says which typed error comes back at the first query —
 * and the interceptors must have received nothing worth stealing. The paths refused at construction
 * (TLS options at any depth of `ssl` and `pool`, `ssl: false`, a `host` that is a connection string,
 * NODE_TLS_REJECT_UNAUTHORIZED=0 when the connector is made, …) open no socket: they are the
 * configuration group's `tlsWeakening` rows in test/conformance.test.ts. The `trusted` rows are the control: a man in the
 * middle whose certificate *is* trusted gets the credential, so the suite would see a leak.
 *
 * Entra mode: the interceptors relay to the stack's real PostgreSQL, which asks for the token as a
 * cleartext password inside TLS. Secret mode: a relay would only ever see a SCRAM proof, never the
 * password, so there the interceptors play the server as an attacker would — they ask for the
 * password in cleartext, record it and refuse the login.
 */

type Mode = 'key-vault-secret' | 'entra-token';
type Where = 'construction' | 'first query' | 'resolved';

interface AttackRow {
  name: string;
  /** The interceptor the connector is pointed at. */
  certificate: InterceptorCertificate;
  /** Merged over the mode's base options (host, port, user, password, tokenProvider). */
  options?: (context: { localCa: string }) => Record<string, unknown>;
  /** Set before the connector is made. */
  env?: Record<string, string>;
  /** Set after the connector is made, before its first query. */
  envAfterConstruction?: Record<string, string>;
  where: Where;
  /** The typed error, for refusals. */
  error?: { type: typeof ConfigurationError | typeof AuthenticationFailedError; code: string };
  /** Text the message or hint must contain: the option path or variable, the fix. */
  names?: string[];
}

const pathRows: AttackRow[] = [
  // The control: a trusted certificate for the right name is what a real server has.
  { name: 'trusted interceptor (control)', certificate: 'trusted', where: 'resolved' },
  {
    name: 'trusted interceptor with PGSSLMODE=disable (TLS stays on)',
    certificate: 'trusted',
    env: { PGSSLMODE: 'disable' },
    where: 'resolved',
  },
  // What a certificate check must refuse.
  {
    name: 'untrusted CA',
    certificate: 'untrusted-ca',
    where: 'first query',
    error: { type: ConfigurationError, code: 'configuration' },
    names: ['not trusted', 'NODE_EXTRA_CA_CERTS', '`ssl.ca`'],
  },
  {
    name: 'trusted CA, wrong name',
    certificate: 'wrong-name',
    where: 'first query',
    error: { type: ConfigurationError, code: 'configuration' },
    names: ['ERR_TLS_CERT_ALTNAME_INVALID', 'not issued for this host name'],
  },
  {
    name: 'ssl: { ca } of the trusted CA still checks the name',
    certificate: 'wrong-name',
    options: ({ localCa }) => ({ ssl: { ca: localCa } }),
    where: 'first query',
    error: { type: ConfigurationError, code: 'configuration' },
    names: ['ERR_TLS_CERT_ALTNAME_INVALID'],
  },
  // The environment: Node's switch is checked at every connection; pg's variables are never read
  // for TLS, since keyless always passes `ssl` (pg reads PGSSLMODE only when `ssl` is absent) and `host`.
  {
    name: 'NODE_TLS_REJECT_UNAUTHORIZED=0 set after construction',
    certificate: 'untrusted-ca',
    envAfterConstruction: { NODE_TLS_REJECT_UNAUTHORIZED: '0' },
    where: 'first query',
    error: { type: ConfigurationError, code: 'configuration' },
    names: ['NODE_TLS_REJECT_UNAUTHORIZED'],
  },
  {
    name: 'PGSSLMODE=no-verify',
    certificate: 'untrusted-ca',
    env: { PGSSLMODE: 'no-verify' },
    where: 'first query',
    error: { type: ConfigurationError, code: 'configuration' },
    names: ['not trusted'],
  },
  {
    name: 'PGSSLMODE=disable',
    certificate: 'untrusted-ca',
    env: { PGSSLMODE: 'disable' },
    where: 'first query',
    error: { type: ConfigurationError, code: 'configuration' },
    names: ['not trusted'],
  },
  {
    name: 'PGSSLMODE=no-verify with PGHOST and PGPORT elsewhere',
    certificate: 'untrusted-ca',
    env: { PGSSLMODE: 'no-verify', PGHOST: '127.0.0.1', PGPORT: '1' },
    where: 'first query',
    error: { type: ConfigurationError, code: 'configuration' },
    names: ['not trusted'],
  },
];

describe('@keyless/postgres against a man in the middle', () => {
  const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER as string;
  let stack: LocalAzure;
  let tokenProvider: TokenProvider;
  let vault: KeyVaultConnector;
  let seededPassword: string;
  let localCa: string;
  let restoreLookup: () => void;
  let restoreIdentity: () => void;
  const interceptors = new Map<`${Mode} ${InterceptorCertificate}`, TlsInterceptor>();
  const connectors: PostgresConnector[] = [];
  const savedEnvironment = { ...process.env };

  /** What the interceptors must never see; names only ever get printed. */
  const secrets = () => ({ 'the seeded password': seededPassword });

  beforeAll(async () => {
    restoreLookup = resolveTestHostsToLoopback();
    stack = await startLocalAzure({ services: ['postgres'], stateFolder });
    restoreIdentity = useManagedIdentityEnvironment(stack.identity, 'app-service');
    tokenProvider = createTokenProvider({ identity: { clientId: stack.appIdentity.clientId } });
    vault = createKeyVaultConnector({ vaultUrl: stack.env.KEYLESS_KEYVAULT_URL, tokenProvider });
    seededPassword = await vault.secret('postgres-password').get();
    localCa = readFileSync(join(stateFolder, 'ca', 'ca.pem'), 'utf8');
    for (const mode of ['entra-token', 'key-vault-secret'] as const) {
      for (const certificate of ['untrusted-ca', 'wrong-name', 'trusted'] as const) {
        interceptors.set(
          `${mode} ${certificate}`,
          await startTlsInterceptor({
            upstreamPort: Number(stack.env.KEYLESS_POSTGRES_PORT),
            certificate,
            stateFolder,
            preamble: 'postgres',
            askForCleartextPassword: mode === 'key-vault-secret',
          }),
        );
      }
    }
  });

  afterEach(async () => {
    for (const name of Object.keys(process.env)) if (!(name in savedEnvironment)) delete process.env[name];
    Object.assign(process.env, savedEnvironment);
    for (const connector of connectors.splice(0)) await connector.close();
  });

  afterAll(async () => {
    for (const interceptor of interceptors.values()) await interceptor.stop();
    await vault?.close();
    await tokenProvider?.close();
    restoreIdentity?.();
    await stack?.stop();
    restoreLookup?.();
  });

  const baseOptions = (mode: Mode, interceptor: TlsInterceptor): Record<string, unknown> => ({
    host: interceptor.host,
    port: interceptor.port,
    database: stack.env.KEYLESS_POSTGRES_DATABASE,
    user: mode === 'entra-token' ? stack.env.KEYLESS_POSTGRES_ENTRA_USER : stack.env.KEYLESS_POSTGRES_USER,
    password:
      mode === 'entra-token'
        ? entraToken()
        : fromKeyVaultSecret({ connector: vault, secretName: 'postgres-password' }),
    tokenProvider,
    // A refused connect is not waited out here: nothing in these rows is transient.
    connectRetryMs: 0,
  });

  /** Runs one row: where it ended, and the error if it was refused. */
  const interceptorFor = (mode: Mode, certificate: InterceptorCertificate) =>
    interceptors.get(`${mode} ${certificate}`) as TlsInterceptor;

  const attempt = async (mode: Mode, row: AttackRow) => {
    const interceptor = interceptorFor(mode, row.certificate);
    Object.assign(process.env, row.env);
    let connector: PostgresConnector;
    try {
      connector = createPostgresConnector({
        ...baseOptions(mode, interceptor),
        ...row.options?.({ localCa }),
      } as unknown as Parameters<typeof createPostgresConnector>[0]);
    } catch (error) {
      return { where: 'construction' as Where, error };
    }
    connectors.push(connector);
    Object.assign(process.env, row.envAfterConstruction);
    try {
      await connector.query('SELECT 1');
      return { where: 'resolved' as Where, error: undefined };
    } catch (error) {
      return { where: 'first query' as Where, error };
    }
  };

  describe.each(['key-vault-secret', 'entra-token'] as const)('%s mode', (mode) => {
    it.each(pathRows)('$name', async (row) => {
      const handshakesBefore = interceptorFor(mode, row.certificate).handshakes;
      const outcome = await attempt(mode, row);
      const control = row.where === 'resolved';
      // The error's class, code and text first: a failed row then says what came back.
      if (control && mode === 'key-vault-secret') {
        // The attacker holding the server's place refused the login it recorded.
        expect((outcome.error as KeylessError | undefined)?.code).toBe('authentication-failed');
      } else if (row.error) {
        expect(outcome.error).toBeInstanceOf(row.error.type);
        expect((outcome.error as KeylessError).code).toBe(row.error.code);
        const text = `${(outcome.error as Error).message}`;
        for (const name of row.names ?? []) expect(text).toContain(name);
      } else {
        expect(outcome.error).toBeUndefined();
      }
      expect(outcome.where).toBe(control && mode === 'key-vault-secret' ? 'first query' : row.where);
      if (control) {
        // The control: the session reached the trusted interceptor over TLS and it got the
        // credential — the token in Entra mode, the password it asked for in secret mode.
        const trusted = interceptorFor(mode, 'trusted');
        expect(trusted.handshakes).toBeGreaterThan(handshakesBefore);
        const user = (
          mode === 'entra-token' ? stack.env.KEYLESS_POSTGRES_ENTRA_USER : stack.env.KEYLESS_POSTGRES_USER
        ) as string;
        expect(trusted.leaks({ 'the user name': user })).toContain('the user name');
        expect(trusted.leaks(secrets())).toContain(
          mode === 'entra-token' ? 'a token (JWT)' : 'the seeded password',
        );
      } else {
        // A refusal at construction opens nothing; a certificate refusal ends at the handshake.
        expect(interceptorFor(mode, row.certificate).handshakes).toBe(handshakesBefore);
      }
      // Nothing reached a man in the middle whose certificate should have been refused.
      expect(interceptorFor(mode, 'untrusted-ca').leaks(secrets())).toEqual([]);
      expect(interceptorFor(mode, 'wrong-name').leaks(secrets())).toEqual([]);
    });
  });
});
