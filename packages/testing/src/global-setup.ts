import { join } from 'node:path';
import { ensureLocalCertificateAuthority, trustBundleFor } from '@keyless/local-azure';

/**
 * vitest `globalSetup` for every package whose tests use the local stack. It runs once, before
 * vitest forks its workers, which inherit NODE_EXTRA_CA_CERTS and so trust the local CA from their
 * first instruction, as an application started by `keyless-local` would — added to whatever
 * NODE_EXTRA_CA_CERTS already named (a proxy's CA that npm and the registry need), never instead. Tests that start the
 * stack pass KEYLESS_TEST_STATE_FOLDER, hence the same CA. The folder is the package's git-ignored
 * `test-output`, kept after the run: vitest may start a worker after teardown, and Node warns when
 * NODE_EXTRA_CA_CERTS names a missing file.
 */
export default async function setup(): Promise<void> {
  const stateFolder = join(process.cwd(), 'test-output');
  const authority = await ensureLocalCertificateAuthority(stateFolder);
  process.env.NODE_EXTRA_CA_CERTS = await trustBundleFor(authority);
  process.env.KEYLESS_TEST_STATE_FOLDER = stateFolder;
  process.env.KEYLESS_TEST_SERVER_CERT = authority.serverCertificatePath;
  process.env.KEYLESS_TEST_SERVER_KEY = authority.serverKeyPath;
}
