import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureLocalCertificateAuthority } from '../src/index.js';

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function stateFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'keyless-ca-test-'));
  folders.push(folder);
  return folder;
}

async function handshake(
  authority: Awaited<ReturnType<typeof ensureLocalCertificateAuthority>>,
  host: string,
  ca?: string,
) {
  const server = createServer(
    { cert: authority.serverCertificate, key: authority.serverKey },
    (_request, response) => response.end('ok'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    return await new Promise<string>((resolve) => {
      const socket = connect(
        { host: '127.0.0.1', port, servername: host === '127.0.0.1' ? undefined : host, ca },
        () => {
          resolve(socket.authorized ? 'authorized' : String(socket.authorizationError));
          socket.end();
        },
      );
      socket.on('error', (error) =>
        resolve(`error: ${(error as NodeJS.ErrnoException).code ?? error.message}`),
      );
    });
  } finally {
    server.close();
  }
}

describe('local certificate authority', () => {
  it('issues a server certificate that verifies for 127.0.0.1 and localhost with the CA, and not without it', async () => {
    const authority = await ensureLocalCertificateAuthority(stateFolder());
    expect(await handshake(authority, '127.0.0.1', authority.caCertificate)).toBe('authorized');
    expect(await handshake(authority, 'localhost', authority.caCertificate)).toBe('authorized');
    // Without this CA (the worker trusts only the test run's own CA), verification fails.
    expect(await handshake(authority, '127.0.0.1')).toMatch(
      /SELF_SIGNED|UNABLE_TO_VERIFY|CERT_SIGNATURE_FAILURE/,
    );
  });

  it('keeps one CA per state folder across runs, and re-issues a damaged server certificate', async () => {
    const folder = stateFolder();
    const first = await ensureLocalCertificateAuthority(folder);
    const second = await ensureLocalCertificateAuthority(folder);
    expect(second.caCertificate).toBe(first.caCertificate);
    expect(second.serverCertificate).toBe(first.serverCertificate);
    writeFileSync(first.serverCertificatePath, 'garbage');
    const repaired = await ensureLocalCertificateAuthority(folder);
    expect(repaired.caCertificate).toBe(first.caCertificate);
    expect(repaired.serverCertificate).not.toBe(first.serverCertificate);
    expect(await handshake(repaired, '127.0.0.1', first.caCertificate)).toBe('authorized');
  });

  it('makes the server certificate usable as a client certificate too, re-issuing one an older version made without', async () => {
    const clientAuthentication = '1.3.6.1.5.5.7.3.2';
    const folder = stateFolder();
    const first = await ensureLocalCertificateAuthority(folder);
    // Redis Cluster nodes present it to each other on the cluster bus, which requires clientAuth.
    expect(new X509Certificate(first.serverCertificate).keyUsage).toContain(clientAuthentication);
    const serverOnly = await generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      ca: { key: readFileSync(join(folder, 'ca', 'ca-key.pem'), 'utf8'), cert: first.caCertificate },
      extensions: [{ name: 'extKeyUsage', serverAuth: true }],
    });
    writeFileSync(first.serverCertificatePath, serverOnly.cert);
    const reissued = await ensureLocalCertificateAuthority(folder);
    expect(reissued.caCertificate).toBe(first.caCertificate);
    expect(reissued.serverCertificate).not.toBe(serverOnly.cert);
    expect(new X509Certificate(reissued.serverCertificate).keyUsage).toContain(clientAuthentication);
  });

  it('gives each state folder its own CA', async () => {
    const one = await ensureLocalCertificateAuthority(stateFolder());
    const other = await ensureLocalCertificateAuthority(stateFolder());
    expect(one.caCertificate).not.toBe(other.caCertificate);
    expect(await handshake(one, '127.0.0.1', other.caCertificate)).not.toBe('authorized');
  });

  it('names each CA uniquely, so CAs of several state folders trusted together never shadow each other', async () => {
    const one = await ensureLocalCertificateAuthority(stateFolder());
    const other = await ensureLocalCertificateAuthority(stateFolder());
    const bothTrusted = `${one.caCertificate}\n${other.caCertificate}`;
    expect(await handshake(one, '127.0.0.1', bothTrusted)).toBe('authorized');
    expect(await handshake(other, '127.0.0.1', bothTrusted)).toBe('authorized');
  });

  it('replaces a CA made by an older version, which every state folder shared the name of', async () => {
    const folder = stateFolder();
    const legacy = await generate([{ name: 'commonName', value: 'keyless local CA' }], {
      keySize: 2048,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(folder, 'ca'), { recursive: true });
    writeFileSync(join(folder, 'ca', 'ca.pem'), legacy.cert);
    writeFileSync(join(folder, 'ca', 'ca-key.pem'), legacy.private);
    const authority = await ensureLocalCertificateAuthority(folder);
    expect(authority.caCertificate).not.toBe(legacy.cert);
    expect(await handshake(authority, '127.0.0.1', authority.caCertificate)).toBe('authorized');
    expect(new X509Certificate(authority.caCertificate).subject).toMatch(
      /^CN=keyless local CA [0-9a-f]{12}$/,
    );
  });
});
