import { fileURLToPath } from 'node:url';
import { createTestCertificateAuthority } from '../src/test-certificate-authority.js';

/**
 * Runs once, before vitest forks its workers: the workers inherit NODE_EXTRA_CA_CERTS and so trust
 * the test CA from their first instruction, as an application started by `keyless-local` would.
 * The files stay in the git-ignored test-output folder (made anew each run): vitest may start a
 * worker after teardown, and Node warns when NODE_EXTRA_CA_CERTS names a missing file.
 */
export default async function setup(): Promise<void> {
  const folder = fileURLToPath(new URL('../test-output/tls', import.meta.url));
  const files = await createTestCertificateAuthority(folder);
  process.env.NODE_EXTRA_CA_CERTS = files.caCertificatePath;
  process.env.KEYLESS_TEST_SERVER_CERT = files.serverCertificatePath;
  process.env.KEYLESS_TEST_SERVER_KEY = files.serverKeyPath;
}
