import type { IncomingMessage } from 'node:http';
import { refuse, refusalOf } from './answer';
import type { PipelineContext } from './context';
import type { Policy } from './exchange';
import { bodyLimitOf } from './send';

/** RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host header. */
export function hostProblem(req: IncomingMessage): string | undefined {
  let hosts = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) return 'more than one Host header';
  if (hosts === 0 && req.httpVersionMinor === 1) return 'missing Host header';
  return undefined;
}

/**
 * Admission: refuses a request with a bad Host or a declared body over the limit of the upstream that will
 * serve it; answers `Expect: 100-continue` once admitted.
 */
export function admission(ctx: PipelineContext): Policy {
  return (ex, next, done) => {
    const badHost = hostProblem(ex.req);
    if (badHost !== undefined) {
      refuse(ctx, refusalOf(ex, 'PROXY_ERR_MALFORMED_REQUEST', badHost));
      return done({ status: 400, clientAborted: false, refused: true });
    }
    const limit = bodyLimitOf(ctx, ex);
    const declared = ex.req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      refuse(ctx, refusalOf(ex, 'PROXY_ERR_BODY_TOO_LARGE', `Content-Length ${declared} exceeds ${limit} bytes`));
      return done({ status: 413, clientAborted: false, refused: true });
    }
    if (ex.expectContinue) ex.res.writeContinue();
    next(ex, done);
  };
}
