import { ensureLocalCertificateAuthority, type LocalCertificateAuthority } from '../../src/index.js';

/** The CA that test/global-setup.ts made and that this worker already trusts. */
export function testCertificateAuthority(): Promise<LocalCertificateAuthority> {
  const stateFolder = process.env.KEYLESS_TEST_STATE_FOLDER;
  if (!stateFolder)
    throw new Error('KEYLESS_TEST_STATE_FOLDER is not set: run the tests through vitest.config.ts');
  return ensureLocalCertificateAuthority(stateFolder);
}
