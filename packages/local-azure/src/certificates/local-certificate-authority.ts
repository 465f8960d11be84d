import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/**
 * The local stack's trust root. Every HTTPS/TLS emulator serves the server certificate; clients
 * trust the CA through NODE_EXTRA_CA_CERTS (or an explicit `ca` option) — TLS verification is
 * never switched off anywhere in keyless.
 */
export interface LocalCertificateAuthority {
  /** PEM of the CA certificate: point NODE_EXTRA_CA_CERTS at `caCertificatePath`. */
  readonly caCertificate: string;
  readonly caCertificatePath: string;
  /** Server certificate for 127.0.0.1, ::1 and localhost, signed by the CA. */
  readonly serverCertificate: string;
  readonly serverCertificatePath: string;
  readonly serverKey: string;
  readonly serverKeyPath: string;
}

const caValidityDays = 3650;
const serverValidityDays = 365;
// Renew the server certificate well before it expires, so a long-lived state folder keeps working.
const renewWithinDays = 30;
/** The extended key usage `clientAuth` (RFC 5280 §4.2.1.12). */
const clientAuthenticationUsage = '1.3.6.1.5.5.7.3.2';
/**
 * What every CA was called before each got a name of its own. Two CAs with one name in a trust
 * store shadow each other: OpenSSL looks an issuer up by name, tries the other CA's key and fails
 * with CERT_SIGNATURE_FAILURE — which happens as soon as the local CA is added to a
 * NODE_EXTRA_CA_CERTS that already holds another state folder's CA.
 */
const sharedLegacyName = 'CN=keyless local CA';

/**
 * One CA per state folder, kept across runs so an exported NODE_EXTRA_CA_CERTS stays valid, with a
 * name of its own so several can be trusted at once; it is re-created when missing, damaged,
 * expired or made by an older version (which gave every CA the same name). The server certificate
 * is re-issued when missing, not signed by the CA, close to expiry, or made by an older version
 * (which did not let it serve as a client certificate).
 */
export async function ensureLocalCertificateAuthority(
  stateFolder: string,
): Promise<LocalCertificateAuthority> {
  const folder = join(stateFolder, 'ca');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const paths = {
    caCertificatePath: join(folder, 'ca.pem'),
    caKeyPath: join(folder, 'ca-key.pem'),
    serverCertificatePath: join(folder, 'server.pem'),
    serverKeyPath: join(folder, 'server-key.pem'),
  };
  if (!authorityIsUsable(paths.caCertificatePath, paths.caKeyPath)) {
    // A name of its own (see sharedLegacyName), so it can sit in one trust store with any other.
    const name = `keyless local CA ${randomBytes(6).toString('hex')}`;
    const authority = await generate([{ name: 'commonName', value: name }], {
      keySize: 2048,
      notAfterDate: daysFromNow(caValidityDays),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    });
    writeFileSync(paths.caCertificatePath, authority.cert);
    writeFileSync(paths.caKeyPath, authority.private, { mode: 0o600 });
    writeFileSync(paths.serverCertificatePath, ''); // the old server certificate is not signed by the new CA
  }
  const caCertificate = readFileSync(paths.caCertificatePath, 'utf8');
  if (!serverCertificateIsUsable(paths.serverCertificatePath, caCertificate)) {
    const server = await generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      notAfterDate: daysFromNow(serverValidityDays),
      ca: { key: readFileSync(paths.caKeyPath, 'utf8'), cert: caCertificate },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        // clientAuth too: Redis Cluster nodes present this certificate to each other on the
        // cluster bus and for replication, and the accepting node requires a client certificate there.
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
            { type: 7, ip: '::1' },
          ],
        },
      ],
    });
    writeFileSync(paths.serverCertificatePath, server.cert);
    writeFileSync(paths.serverKeyPath, server.private, { mode: 0o600 });
  }
  return {
    caCertificate,
    caCertificatePath: paths.caCertificatePath,
    serverCertificate: readFileSync(paths.serverCertificatePath, 'utf8'),
    serverCertificatePath: paths.serverCertificatePath,
    serverKey: readFileSync(paths.serverKeyPath, 'utf8'),
    serverKeyPath: paths.serverKeyPath,
  };
}

function authorityIsUsable(certificatePath: string, keyPath: string): boolean {
  if (!existsSync(certificatePath) || !existsSync(keyPath)) return false;
  try {
    const certificate = new X509Certificate(readFileSync(certificatePath, 'utf8'));
    return certificate.subject !== sharedLegacyName && Date.now() < new Date(certificate.validTo).getTime();
  } catch {
    return false;
  }
}

function serverCertificateIsUsable(path: string, caCertificate: string): boolean {
  if (!existsSync(path)) return false;
  const pem = readFileSync(path, 'utf8');
  if (pem.trim() === '') return false;
  try {
    const certificate = new X509Certificate(pem);
    const authority = new X509Certificate(caCertificate);
    const renewAt = new Date(certificate.validTo).getTime() - renewWithinDays * 86_400_000;
    return (
      certificate.checkIssued(authority) &&
      certificate.verify(authority.publicKey) &&
      Date.now() < renewAt &&
      (certificate.keyUsage ?? []).includes(clientAuthenticationUsage)
    );
  } catch {
    return false;
  }
}

function daysFromNow(days: number): Date {
  return new Date(Date.now() + days * 86_400_000);
}
