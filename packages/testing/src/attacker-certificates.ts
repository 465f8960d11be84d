import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import type { InterceptorCertificate } from './tls-interceptor.js';

/**
 * The certificate an attacker's server would present for `host`:
 * - `untrusted-ca`: the right name, from a throw-away CA of the attacker's own that nobody trusts
 *   (the chain includes that CA, as an attacker would send it);
 * - `wrong-name`: from the trusted local CA (in `stateFolder`), but for another name;
 * - `trusted`: the right name from the trusted local CA (the positive control).
 * In the shape `tls.createServer` and the local stack's endpoints take.
 */
export async function attackerCertificate(
  kind: InterceptorCertificate,
  host: string,
  stateFolder: string,
): Promise<{ cert: string; key: string }> {
  const localCa = {
    cert: readFileSync(join(stateFolder, 'ca', 'ca.pem'), 'utf8'),
    key: readFileSync(join(stateFolder, 'ca', 'ca-key.pem'), 'utf8'),
  };
  const name = kind === 'wrong-name' ? 'not-the-target.test' : host;
  let issuer = localCa;
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
  const chain = kind === 'untrusted-ca' ? `${leaf.cert.trimEnd()}\n${issuer.cert}` : leaf.cert;
  return { cert: chain, key: leaf.private };
}
