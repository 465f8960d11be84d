import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureLocalCertificateAuthority,
  type LocalCertificateAuthority,
  startLocalAzure,
  trustBundleFor,
  UnreadableExtraCertificatesError,
} from '../src/index.js';
import { createTestCertificateAuthority } from './support/local-certificates.js';

const workFolder = mkdtempSync(join(tmpdir(), 'keyless-trust-bundle-'));
// What a TLS-inspecting proxy's CA is to the user: something they trust that keyless must keep.
let proxyAuthority: Awaited<ReturnType<typeof createTestCertificateAuthority>>;
let proxyServer: Server;
let proxyPort: number;
let authority: LocalCertificateAuthority;

beforeAll(async () => {
  proxyAuthority = await createTestCertificateAuthority();
  proxyServer = createServer(
    { cert: proxyAuthority.serverCertificate, key: proxyAuthority.serverKey },
    (socket) => socket.end('hello from behind the proxy\n'),
  );
  await new Promise<void>((resolve) => proxyServer.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxyServer.address() as { port: number }).port;
  authority = await ensureLocalCertificateAuthority(join(workFolder, 'state'));
});

afterAll(async () => {
  await new Promise((resolve) => proxyServer.close(resolve));
  proxyAuthority.remove();
  rmSync(workFolder, { recursive: true, force: true });
});

function certificatesIn(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)].map((match) =>
    match[0].replace(/\s+/g, ''),
  );
}

const compact = (pem: string) => pem.replace(/\s+/g, '');

/**
 * A fresh Node process started with only PATH and this NODE_EXTRA_CA_CERTS: does TLS to the
 * "proxy" server and to the vault succeed, verified (no `ca` option, verification on)?
 */
async function trustedByNewProcess(extraCertificates: string, vaultUrl: string) {
  const script = `
    const tls = require('node:tls');
    const https = require('node:https');
    const proxy = new Promise((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: ${proxyPort} }, () => { resolve('trusted'); socket.end(); });
      socket.on('error', (error) => resolve(error.code));
    });
    const vault = new Promise((resolve) => {
      https.get(${JSON.stringify(vaultUrl)}, (response) => { resolve('trusted ' + response.statusCode); response.resume(); })
        .on('error', (error) => resolve(error.code));
    });
    Promise.all([proxy, vault]).then(([proxy, vault]) => console.log(JSON.stringify({ proxy, vault })));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: extraCertificates },
  });
  return JSON.parse(stdout) as { proxy: string; vault: string };
}

describe('trustBundleFor / stack.env.NODE_EXTRA_CA_CERTS', () => {
  it("adds the local CA to the CAs the user's NODE_EXTRA_CA_CERTS names: a new process trusts both", async () => {
    const saved = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = proxyAuthority.caCertificatePath;
    const stack = await startLocalAzure({
      services: ['keyvault'],
      stateFolder: join(workFolder, 'stack-state'),
      seed: false,
    }).finally(() => {
      process.env.NODE_EXTRA_CA_CERTS = saved;
    });
    try {
      const vaultUrl = stack.env.KEYLESS_KEYVAULT_URL as string;
      expect(await trustedByNewProcess(stack.env.NODE_EXTRA_CA_CERTS as string, vaultUrl)).toEqual({
        proxy: 'trusted',
        vault: 'trusted 401', // the challenge: TLS worked
      });
      // The control: the local CA alone (what the stack used to export) loses the user's CA.
      expect(await trustedByNewProcess(stack.ca.caCertificatePath, vaultUrl)).toEqual({
        proxy: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        vault: 'trusted 401',
      });
    } finally {
      await stack.stop();
    }
  });

  it('writes the user file followed by the local CA into the CA folder', async () => {
    const path = await trustBundleFor(authority, { NODE_EXTRA_CA_CERTS: proxyAuthority.caCertificatePath });
    expect(path.startsWith(join(workFolder, 'state', 'ca'))).toBe(true);
    expect(certificatesIn(await readFile(path, 'utf8'))).toEqual([
      compact(proxyAuthority.caCertificate),
      compact(authority.caCertificate),
    ]);
  });

  it('is just the local CA when NODE_EXTRA_CA_CERTS is unset or empty', async () => {
    for (const environment of [{}, { NODE_EXTRA_CA_CERTS: '' }]) {
      const path = await trustBundleFor(authority, environment);
      expect(certificatesIn(await readFile(path, 'utf8'))).toEqual([compact(authority.caCertificate)]);
    }
  });

  it('is stable: the same path and contents again, and a process that trusts the bundle gets it back unnested', async () => {
    const environment = { NODE_EXTRA_CA_CERTS: proxyAuthority.caCertificatePath };
    const first = await trustBundleFor(authority, environment);
    const contents = readFileSync(first, 'utf8');
    expect(await trustBundleFor(authority, environment)).toBe(first);
    expect(readFileSync(first, 'utf8')).toBe(contents);
    // A child started with the bundle calls it again: nothing is added.
    expect(await trustBundleFor(authority, { NODE_EXTRA_CA_CERTS: first })).toBe(first);
    // A user file that already holds the local CA (with other line endings) is returned unchanged.
    const withCrLf = join(workFolder, 'already-trusted.pem');
    writeFileSync(
      withCrLf,
      `${proxyAuthority.caCertificate}\n${authority.caCertificate}`.replaceAll('\n', '\r\n'),
    );
    expect(await trustBundleFor(authority, { NODE_EXTRA_CA_CERTS: withCrLf })).toBe(withCrLf);
  });

  it('keeps bundles for different NODE_EXTRA_CA_CERTS apart, so one caller never changes what another exported', async () => {
    const other = join(workFolder, 'other-ca.pem');
    const otherAuthority = await createTestCertificateAuthority();
    writeFileSync(other, otherAuthority.caCertificate);
    otherAuthority.remove();
    const mine = await trustBundleFor(authority, { NODE_EXTRA_CA_CERTS: proxyAuthority.caCertificatePath });
    const theirs = await trustBundleFor(authority, { NODE_EXTRA_CA_CERTS: other });
    expect(theirs).not.toBe(mine);
    expect(certificatesIn(readFileSync(mine, 'utf8'))[0]).toBe(compact(proxyAuthority.caCertificate));
  });

  it('refuses a NODE_EXTRA_CA_CERTS it cannot read, with a typed error naming the variable and the path', async () => {
    for (const unreadable of [join(workFolder, 'no-such-file.pem'), workFolder]) {
      const error = await trustBundleFor(authority, { NODE_EXTRA_CA_CERTS: unreadable }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(UnreadableExtraCertificatesError);
      expect(error).toMatchObject({ code: 'unreadable-extra-ca-certs', path: unreadable });
      expect((error as Error).message).toContain('NODE_EXTRA_CA_CERTS');
      expect((error as Error).message).toContain(unreadable);
    }
  });

  it('never shows a concurrent reader half a bundle', async () => {
    // A user file larger than a system bundle (Debian's is ~220 KB), so writing it takes several
    // 64 KB chunks; 5 MB (4000 copies) made two busy readers outlast 30 s on a loaded CI machine.
    const large = join(workFolder, 'large-bundle.pem');
    writeFileSync(large, `${proxyAuthority.caCertificate}\n`.repeat(400));
    const fresh = await ensureLocalCertificateAuthority(join(workFolder, 'concurrent-state'));
    const environment = { NODE_EXTRA_CA_CERTS: large };
    const bundlePath = await trustBundleFor(fresh, environment);
    const whole = readFileSync(bundlePath, 'utf8');
    const seen = { whole: 0, partial: 0, missing: 0 };
    for (let round = 0; round < 5; round += 1) {
      rmSync(bundlePath); // so the writers below really write
      let writing = true;
      const writers = Promise.all(
        Array.from({ length: 10 }, () => trustBundleFor(fresh, environment)),
      ).finally(() => {
        writing = false;
      });
      const reader = async () => {
        while (writing) {
          const text = await readFile(bundlePath, 'utf8').catch(() => undefined);
          if (text === undefined) seen.missing += 1;
          else if (text === whole) seen.whole += 1;
          else seen.partial += 1;
        }
      };
      const [paths] = await Promise.all([writers, reader(), reader()]);
      expect(new Set(paths)).toEqual(new Set([bundlePath]));
    }
    expect(seen.partial).toBe(0);
    expect(seen.whole + seen.missing).toBeGreaterThan(0);
    expect(readFileSync(bundlePath, 'utf8')).toBe(whole);
    expect(
      readdirSync(join(workFolder, 'concurrent-state', 'ca')).filter((name) => name.endsWith('.tmp')),
    ).toEqual([]);
  }, 90_000);
});
