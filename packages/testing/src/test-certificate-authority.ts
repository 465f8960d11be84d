import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TestCertificateFiles {
  caCertificatePath: string;
  serverCertificatePath: string;
  serverKeyPath: string;
}

/**
 * A throwaway CA and a server certificate for 127.0.0.1 and localhost, so tests speak real TLS
 * with verification on: clients trust the CA through NODE_EXTRA_CA_CERTS, never by turning checks off.
 */
export async function createTestCertificateAuthority(folder: string): Promise<TestCertificateFiles> {
  mkdirSync(folder, { recursive: true });
  const authority = await generate([{ name: 'commonName', value: 'keyless test CA' }], {
    keySize: 2048,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    ca: { key: authority.private, cert: authority.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const files = {
    caCertificatePath: join(folder, 'ca.pem'),
    serverCertificatePath: join(folder, 'server.pem'),
    serverKeyPath: join(folder, 'server-key.pem'),
  };
  writeFileSync(files.caCertificatePath, authority.cert);
  writeFileSync(files.serverCertificatePath, server.cert);
  writeFileSync(files.serverKeyPath, server.private, { mode: 0o600 });
  return files;
}
