import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { InterceptorCertificate } from '@keyless/testing';

/** A server certificate (with its chain) and key, as `startSqlEndpoint({ tls })` takes them. */
export interface ServerCredentials {
  cert: string;
  key: string;
}

interface SelfSigned {
  generate(
    attributes: { name: string; value: string }[],
    options: Record<string, unknown>,
  ): Promise<{ cert: string; private: string }>;
}

/**
 * `selfsigned` is a dependency of @keyless/testing, not of this package (the lock file is shared and
 * this package adds no dependency), so it is loaded from where @keyless/testing resolves it. The same
 * certificates as `startTlsInterceptor` makes; a helper exported by @keyless/testing would replace this.
 */
async function loadSelfSigned(): Promise<SelfSigned> {
  const testingPackage = realpathSync(
    fileURLToPath(new URL('../../node_modules/@keyless/testing/package.json', import.meta.url)),
  );
  const path = createRequire(testingPackage).resolve('selfsigned');
  return (await import(pathToFileURL(path).href)) as SelfSigned;
}

/**
 * The certificate an attacker's server would present for `host`:
 * - `untrusted-ca`: the right name, from a CA of the attacker's own that nobody trusts;
 * - `wrong-name`: from the trusted local CA, but for another name;
 * - `trusted`: the right name from the trusted local CA (the positive control).
 */
export async function attackerCertificate(
  kind: InterceptorCertificate,
  host: string,
  stateFolder: string,
): Promise<ServerCredentials> {
  const { generate } = await loadSelfSigned();
  let issuer = {
    cert: readFileSync(join(stateFolder, 'ca', 'ca.pem'), 'utf8'),
    key: readFileSync(join(stateFolder, 'ca', 'ca-key.pem'), 'utf8'),
  };
  if (kind === 'untrusted-ca') {
    const attackerCa = await generate([{ name: 'commonName', value: 'attacker CA' }], {
      keySize: 2048,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    });
    issuer = { cert: attackerCa.cert, key: attackerCa.private };
  }
  const name = kind === 'wrong-name' ? 'not-the-target.test' : host;
  const leaf = await generate([{ name: 'commonName', value: name }], {
    keySize: 2048,
    ca: issuer,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: name }] },
    ],
  });
  const cert = kind === 'untrusted-ca' ? `${leaf.cert.trimEnd()}\n${issuer.cert}` : leaf.cert;
  return { cert, key: leaf.private };
}
