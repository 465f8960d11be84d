import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { create } from 'tar';

/** The one package the stub registry serves. */
export const probePackage = { name: 'keyless-trust-probe', version: '1.0.0' };

export interface StubRegistry {
  /** `https://127.0.0.1:<port>/`, for npm's `registry` setting. */
  readonly url: string;
  /** PEM file of the throw-away CA that signed the server's certificate (trusted by nothing else). */
  readonly caPath: string;
  /** Paths of the requests that got an answer (only clients that trusted the CA get that far). */
  readonly served: string[];
  close(): Promise<void>;
}

async function throwAwayCertificates(): Promise<{ ca: string; cert: string; key: string }> {
  const authority = await generate(
    [{ name: 'commonName', value: 'keyless release-check stub registry CA' }],
    {
      keySize: 2048,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    },
  );
  const server = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    ca: { key: authority.private, cert: authority.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { ca: authority.cert, cert: server.cert, key: server.private };
}

/** A tarball of a tiny package, as `npm pack` lays it out (one `package/` folder). */
async function probeTarball(folder: string): Promise<Buffer> {
  const packageFolder = join(folder, 'package');
  await mkdir(packageFolder, { recursive: true });
  await writeFile(
    join(packageFolder, 'package.json'),
    `${JSON.stringify({ ...probePackage, main: 'index.js', license: 'MIT' }, null, 2)}\n`,
  );
  await writeFile(join(packageFolder, 'index.js'), "module.exports = 'trusted';\n");
  const file = join(folder, 'probe.tgz');
  await create({ gzip: true, cwd: folder, file, portable: true }, ['package']);
  return readFile(file);
}

/**
 * An npm registry on 127.0.0.1 over HTTPS with a certificate from a CA made for this run: a client
 * installs from it only if that CA reached its trust (NODE_EXTRA_CA_CERTS, npm's `cafile`, …).
 */
export async function startStubRegistry(folder: string): Promise<StubRegistry> {
  await mkdir(folder, { recursive: true });
  const certificates = await throwAwayCertificates();
  const caPath = join(folder, 'stub-registry-ca.pem');
  await writeFile(caPath, certificates.ca);
  const tarball = await probeTarball(folder);
  const served: string[] = [];
  const tarballPath = `/${probePackage.name}/-/${probePackage.name}-${probePackage.version}.tgz`;
  const server = createServer({ cert: certificates.cert, key: certificates.key }, (request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0] ?? '/');
    const port = (server.address() as AddressInfo).port;
    if (path === `/${probePackage.name}`) {
      served.push(path);
      const packument = {
        name: probePackage.name,
        'dist-tags': { latest: probePackage.version },
        versions: {
          [probePackage.version]: {
            ...probePackage,
            main: 'index.js',
            dist: {
              tarball: `https://127.0.0.1:${port}${tarballPath}`,
              shasum: createHash('sha1').update(tarball).digest('hex'),
              integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
            },
          },
        },
      };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument));
    } else if (path === tarballPath) {
      served.push(path);
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarball);
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}/`,
    caPath,
    served,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
