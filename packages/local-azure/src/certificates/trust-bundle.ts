import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { LocalCertificateAuthority } from './local-certificate-authority.js';
import { UnreadableExtraCertificatesError } from './unreadable-extra-certificates-error.js';

// A system bundle is a few hundred kilobytes; anything far larger is not a certificate file.
const largestExtraCertificatesFile = 16 * 1024 * 1024;

/**
 * The value NODE_EXTRA_CA_CERTS should have so a process trusts the local CA **in addition to**
 * what it trusts already — never instead: replacing the variable breaks npm, git and applications
 * behind a TLS-inspecting proxy, whose CA the user put there.
 *
 * - `environment.NODE_EXTRA_CA_CERTS` unset (or empty): a bundle holding the local CA alone.
 * - set, and that file already holds the local CA certificate: that path, unchanged — so a process
 *   that already trusts the local CA (e.g. one started with a bundle from here) does not nest bundles.
 * - set otherwise: a bundle of that file's contents followed by the local CA.
 * - set to a file that cannot be read: rejects with `UnreadableExtraCertificatesError` (Node would
 *   silently drop it; a bundle without it would break what it was there for).
 *
 * Bundles are written to the CA's folder (`<state>/ca/trust-bundle-<hash>.pem`), named by their
 * contents: the same inputs give the same path on every call, and two callers with different
 * NODE_EXTRA_CA_CERTS never overwrite each other's bundle. Each is written to a temporary file and
 * renamed into place, so a process reading it concurrently sees the whole bundle or none.
 *
 * NODE_EXTRA_CA_CERTS is read once, when Node starts: put the result in the environment of a
 * process you start (or in `.env`), not into `process.env` of a running one.
 */
export async function trustBundleFor(
  authority: LocalCertificateAuthority,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): Promise<string> {
  const userPath = environment.NODE_EXTRA_CA_CERTS;
  let userCertificates = '';
  if (userPath) {
    userCertificates = await readExtraCertificates(userPath);
    if (containsCertificate(userCertificates, authority.caCertificate)) return userPath;
  }
  const bundle =
    userCertificates === ''
      ? authority.caCertificate
      : `${withFinalNewline(userCertificates)}${authority.caCertificate}`;
  const name = `trust-bundle-${createHash('sha256').update(bundle).digest('hex').slice(0, 16)}.pem`;
  const path = join(dirname(authority.caCertificatePath), name);
  if ((await readFile(path, 'utf8').catch(() => undefined)) !== bundle) await writeAtomically(path, bundle);
  return path;
}

async function readExtraCertificates(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    const details = await stat(absolute);
    if (!details.isFile()) throw new UnreadableExtraCertificatesError(path, 'not a regular file');
    if (details.size > largestExtraCertificatesFile) {
      throw new UnreadableExtraCertificatesError(
        path,
        `${details.size} bytes is too large for a certificate file`,
      );
    }
    return await readFile(absolute, 'utf8');
  } catch (error) {
    if (error instanceof UnreadableExtraCertificatesError) throw error;
    const code = (error as { code?: string }).code ?? 'unknown error';
    throw new UnreadableExtraCertificatesError(path, code, { cause: error });
  }
}

const beginMarker = '-----BEGIN CERTIFICATE-----';
const endMarker = '-----END CERTIFICATE-----';

/** Whether `pem` holds `certificate` (compared by its base64 body, so line endings do not matter). */
function containsCertificate(pem: string, certificate: string): boolean {
  const wanted = certificateBodies(certificate)[0];
  return wanted !== undefined && certificateBodies(pem).includes(wanted);
}

function certificateBodies(pem: string): string[] {
  const bodies: string[] = [];
  let from = 0;
  for (;;) {
    const begin = pem.indexOf(beginMarker, from);
    if (begin < 0) return bodies;
    const end = pem.indexOf(endMarker, begin + beginMarker.length);
    if (end < 0) return bodies;
    bodies.push(pem.slice(begin + beginMarker.length, end).replace(/\s+/g, ''));
    from = end + endMarker.length;
  }
}

function withFinalNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

async function writeAtomically(path: string, contents: string): Promise<void> {
  const temporary = `${path}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, contents, { mode: 0o644 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
