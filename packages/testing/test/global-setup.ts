import { fileURLToPath } from 'node:url';
import { ensureLocalCertificateAuthority } from '@keyless/local-azure';

/**
 * Runs once, before vitest forks its workers: the workers inherit NODE_EXTRA_CA_CERTS and so trust
 * the local CA from their first instruction, as an application started by `keyless-local` would.
 * Tests that start the stack pass the same state folder, hence the same CA. It is the git-ignored
 * test-output folder, kept after the run: vitest may start a worker after teardown, and Node warns
 * when NODE_EXTRA_CA_CERTS names a missing file.
 */
export default async function setup(): Promise<void> {
  const stateFolder = fileURLToPath(new URL('../test-output', import.meta.url));
  const authority = await ensureLocalCertificateAuthority(stateFolder);
  process.env.NODE_EXTRA_CA_CERTS = authority.caCertificatePath;
  process.env.KEYLESS_TEST_STATE_FOLDER = stateFolder;
  process.env.KEYLESS_TEST_SERVER_CERT = authority.serverCertificatePath;
  process.env.KEYLESS_TEST_SERVER_KEY = authority.serverKeyPath;
}
