import type { TokenVerificationCheck } from '../identity/token-verifier.js';
import { TdsProtocolError } from './packet-framing.js';

/**
 * Federated authentication (MS-TDS 2.2.7.x FEDAUTH feature, FEDAUTHINFO, FEDAUTH_TOKEN): how an
 * Entra access token reaches the server, and how the server judges it.
 */

const FedAuthLibrary = {
  /** The client already holds a token and sends it inside LOGIN7 (tedious: azure-active-directory-access-token). */
  securityToken: 0x01,
  /** The client asks the server where to get a token (FEDAUTHINFO), then sends it in FEDAUTH_TOKEN. */
  msal: 0x02,
} as const;

export type FedAuthRequest =
  | { kind: 'security-token'; echo: boolean; token: string }
  | { kind: 'token-exchange'; echo: boolean; workflow: number };

export function parseFedAuthFeature(data: Buffer): FedAuthRequest {
  if (data.length < 1) throw new TdsProtocolError('FEDAUTH feature has no options byte');
  const options = data.readUInt8(0);
  const library = options >> 1;
  const echo = (options & 0x01) !== 0;
  if (library === FedAuthLibrary.securityToken) {
    if (data.length < 5) throw new TdsProtocolError('FEDAUTH security token length is missing');
    const tokenLength = data.readUInt32LE(1);
    if (5 + tokenLength > data.length) throw new TdsProtocolError('FEDAUTH security token is truncated');
    return { kind: 'security-token', echo, token: data.toString('utf16le', 5, 5 + tokenLength) };
  }
  if (library === FedAuthLibrary.msal) {
    return { kind: 'token-exchange', echo, workflow: data.length >= 2 ? data.readUInt8(1) : 0 };
  }
  throw new TdsProtocolError(`FEDAUTH library 0x${library.toString(16)} is not supported`);
}

/** The FEDAUTH_TOKEN message: DataLen, then the token as L_VARBYTE (UCS-2), then an optional nonce. */
export function parseFedAuthTokenMessage(payload: Buffer): string {
  if (payload.length < 8) throw new TdsProtocolError('FEDAUTH_TOKEN is truncated');
  const dataLength = payload.readUInt32LE(0);
  const tokenLength = payload.readUInt32LE(4);
  if (dataLength + 4 > payload.length || tokenLength + 8 > payload.length || tokenLength + 4 > dataLength) {
    throw new TdsProtocolError('FEDAUTH_TOKEN lengths do not match the message');
  }
  return payload.toString('utf16le', 8, 8 + tokenLength);
}

/** Azure SQL's resource id; the token's `aud` may carry it with or without the trailing slash. */
export const sqlAudiences = ['https://database.windows.net/', 'https://database.windows.net'] as const;

/**
 * The sentence Azure SQL appends to "Login failed for user '<token-identified principal>'." for a
 * token it refuses — kept close to the real wording so a local failure reads like the Azure one.
 */
export function loginFailureDetail(check: TokenVerificationCheck | 'tenant' | undefined): string {
  switch (check) {
    case 'expired':
      return 'Token is expired.';
    case 'audience':
    case 'issuer':
    case 'tenant':
      return 'The server is not currently configured to accept this token.';
    case 'not-yet-valid':
      return 'Token is not valid yet.';
    default:
      return 'Incorrect or invalid token.';
  }
}

const knownChecks: ReadonlySet<string> = new Set<TokenVerificationCheck>([
  'malformed',
  'signature',
  'issuer',
  'audience',
  'expired',
  'not-yet-valid',
  'claims',
]);

/** Reads the failed check off a verifier's error without depending on its class. */
export function failedCheckOf(error: unknown): TokenVerificationCheck | undefined {
  if (typeof error !== 'object' || error === null || !('check' in error)) return undefined;
  const check = (error as { check: unknown }).check;
  return typeof check === 'string' && knownChecks.has(check) ? (check as TokenVerificationCheck) : undefined;
}
