import { errors } from 'jose';

/** The issuer's keys could not be fetched (down, slow, or an invalid key set). */
export class JwksUnavailableError extends Error {
  readonly code = 'JWKS_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JwksUnavailableError';
  }
}

/** Why a token failed verification, in words for `WWW-Authenticate` and the log (never the token itself). */
export function reasonOf(err: unknown): string {
  if (err instanceof JwksUnavailableError) return `the token's signing key is unknown and ${err.message}`;
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return 'the token is not valid yet (nbf)';
      case 'iss':
        return "the token's issuer is not the one this proxy trusts";
      case 'aud':
        return "the token's audience is not accepted";
      default:
        return `the token's ${err.claim} claim is missing or invalid`;
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return "the token's algorithm is not allowed (only asymmetric signatures)";
  if (err instanceof errors.JWKSNoMatchingKey) return "the token's signing key (kid) is unknown to the issuer";
  if (err instanceof errors.JWKSMultipleMatchingKeys) return "the token's signing key is ambiguous";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (err instanceof errors.JOSENotSupported) return "the token's algorithm or key type is not supported";
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'the token is malformed';
  return 'the token could not be verified';
}
