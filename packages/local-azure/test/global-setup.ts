import { fileURLToPath } from 'node:url';
import { ensureLocalCertificateAuthority } from '../src/certificates/local-certificate-authority.js';
import { trustBundleFor } from '../src/certificates/trust-bundle.js';

/**
 * Runs once before vitest forks its workers, which inherit NODE_EXTRA_CA_CERTS and so trust the
 * local CA from their first instruction — the way `keyless-local` makes an application trust it:
 * added to whatever NODE_EXTRA_CA_CERTS already named (a proxy's CA), not instead of it.
 * Tests that start emulators use the same state folder, hence the same CA.
 */
export default async function setup(): Promise<void> {
  const stateFolder = fileURLToPath(new URL('../test-output/state', import.meta.url));
  const authority = await ensureLocalCertificateAuthority(stateFolder);
  process.env.NODE_EXTRA_CA_CERTS = await trustBundleFor(authority);
  process.env.KEYLESS_TEST_STATE_FOLDER = stateFolder;
}
