import type { Request } from 'express';
import { bearerTokenOf } from '../auth/verdict';
import type { TokenVerifier } from '../auth/verifier';
import type { AdminCredentials } from './access';
import { bearerMatches } from './auth';

/** How the admin API recognises its callers. */
export interface AdminCredentialSources {
  /** The shared admin token (automation). */
  readonly sharedToken?: string;
  /** The verifier of person tokens (PROXY_OIDC_ISSUER); absent: none accepted. */
  readonly verifier?: TokenVerifier;
}

/**
 * What a request presented: the shared token (compared in constant time), else a JWT verified by the routes'
 * verifier (never rejects).
 */
export async function credentialsOf(req: Request, sources: AdminCredentialSources): Promise<AdminCredentials> {
  if (sources.sharedToken !== undefined && bearerMatches(req.get('authorization'), sources.sharedToken)) {
    return { kind: 'shared-token' };
  }
  const found = bearerTokenOf(req.rawHeaders);
  if ('none' in found) return { kind: 'none' };
  if ('problem' in found) return { kind: 'malformed', problem: found.problem };
  if (!sources.verifier) return { kind: 'unknown-token' };
  const check = await sources.verifier.verify(found.token);
  return 'claims' in check ? { kind: 'verified', claims: check.claims } : { kind: 'refused', reason: check.refused };
}
