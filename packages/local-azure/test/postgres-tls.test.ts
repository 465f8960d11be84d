import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresInstance, startPostgres } from '../src/index.js';
import { createTestCertificateAuthority } from './support/local-certificates.js';
import { openSession, tryLogin } from './support/postgres-clients.js';

describe('PostgreSQL over TLS with the local CA', () => {
  let authority: Awaited<ReturnType<typeof createTestCertificateAuthority>>;
  let instance: PostgresInstance;

  beforeAll(async () => {
    authority = await createTestCertificateAuthority();
    instance = await startPostgres({
      tls: { certPath: authority.serverCertificatePath, keyPath: authority.serverKeyPath },
      users: [{ name: 'app', password: 'app-password' }],
    });
  });

  afterAll(async () => {
    await instance?.stop();
    authority?.remove();
  });

  it('serves TLS that verifies against the local CA (certificate and host name)', async () => {
    const session = await openSession(instance, 'app', 'app-password', {
      ssl: { ca: authority.caCertificate },
    });
    try {
      const { rows } = await session.query<{ ssl: boolean }>(
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      expect(rows[0]?.ssl).toBe(true);
    } finally {
      await session.end();
    }
  });

  it('refuses connections without TLS, as require_secure_transport does', async () => {
    expect(await tryLogin(instance, 'app', 'app-password')).toBe('28000');
  });

  it('is not trusted by a client that does not know the local CA', async () => {
    const outcome = await tryLogin(instance, 'app', 'app-password', { ssl: true });
    // The worker trusts the test run's own CA (NODE_EXTRA_CA_CERTS), a different one: the chain fails either way.
    expect(outcome).toMatch(/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE)$/);
  });
});
