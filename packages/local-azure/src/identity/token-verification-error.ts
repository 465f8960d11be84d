/** The check a token failed, as `TokenVerificationError.check` names it. */
export type TokenVerificationCheck =
  | 'malformed'
  | 'signature'
  | 'issuer'
  | 'audience'
  | 'expired'
  | 'not-yet-valid'
  | 'claims';

/** Says which check failed; never carries the token. */
export class TokenVerificationError extends Error {
  override readonly name = 'TokenVerificationError';
  readonly check: TokenVerificationCheck;

  constructor(check: TokenVerificationCheck, message: string) {
    super(message);
    this.check = check;
  }
}
