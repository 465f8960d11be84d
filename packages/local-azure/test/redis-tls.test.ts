import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisInstance, startRedis } from '../src/index.js';
import { createTestCertificateAuthority } from './support/local-certificates.js';
import { connectAs } from './support/redis-clients.js';

describe('Redis over TLS with the local CA', () => {
  let authority: Awaited<ReturnType<typeof createTestCertificateAuthority>>;
  let instance: RedisInstance;

  beforeAll(async () => {
    authority = await createTestCertificateAuthority();
    instance = await startRedis({
      tls: {
        certPath: authority.serverCertificatePath,
        keyPath: authority.serverKeyPath,
        caPath: authority.caCertificatePath,
      },
      users: [{ name: 'app', password: 'app-password' }],
    });
  });

  afterAll(async () => {
    await instance?.stop();
    authority?.remove();
  });

  it('serves TLS on a second private port, verified against the local CA', async () => {
    expect(instance.tlsPort).toBeDefined();
    expect(instance.tlsPort).not.toBe(instance.port);
    const client = await connectAs(instance.tlsPort ?? 0, 'app', 'app-password', {
      tls: { ca: authority.caCertificate },
    });
    try {
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('still requires the ACL password over TLS', async () => {
    await expect(
      connectAs(instance.tlsPort ?? 0, 'app', 'wrong', { tls: { ca: authority.caCertificate } }),
    ).rejects.toThrow(/WRONGPASS/);
  });

  it('is not trusted by a client that does not know the local CA', async () => {
    await expect(connectAs(instance.tlsPort ?? 0, 'app', 'app-password', { tls: {} })).rejects.toThrow(
      /self[- ]signed|unable to (get|verify)|certificate signature failure/i,
    );
  });
});
