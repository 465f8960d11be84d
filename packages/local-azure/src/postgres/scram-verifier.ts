import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

const iterations = 4096;

// RFC 3454 table B.1, "commonly mapped to nothing" (zero-width joiners, variation selectors...).
const mappedToNothing = new Set([
  0x00ad,
  0x034f,
  0x1806,
  0x180b,
  0x180c,
  0x180d,
  0x200c,
  0x200d,
  0x2060,
  0xfeff,
  ...Array.from({ length: 16 }, (_, index) => 0xfe00 + index),
]);
// RFC 3454 table C.1.2: non-ASCII spaces, mapped to an ASCII space.
const nonAsciiSpace = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;

/** The byte-changing steps of SASLprep (RFC 4013), as PostgreSQL, libpq and pg apply them. */
function saslPrepare(password: string): string {
  const kept = Array.from(password.replace(nonAsciiSpace, ' ')).filter(
    (character) => !mappedToNothing.has(character.codePointAt(0) ?? 0),
  );
  return kept.join('').normalize('NFKC');
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password, computed here so ALTER ROLE only
 * ever carries the verifier: the plaintext never reaches the server, its logs or an error text
 * (psql's \password does the same).
 */
export function scramSha256Verifier(password: string): string {
  const salt = randomBytes(16);
  const saltedPassword = pbkdf2Sync(saslPrepare(password), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
