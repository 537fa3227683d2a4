import type { ProxyErrorCode } from '../errors';

/** A request target split for routing: the exact bytes to forward and the decoded segments to match on. */
export type ParsedTarget =
  | {
      readonly ok: true;
      /** Path and query exactly as received (origin-form), forwarded unchanged. */
      readonly forward: string;
      /** Decoded, lowercased path segments, one trailing empty segment dropped, matrix parameters cut. */
      readonly segments: readonly string[];
    }
  | { readonly ok: false; readonly code: ProxyErrorCode; readonly reason: string };

const ABSOLUTE = /^https?:\/\//i;

function reject(code: ProxyErrorCode, reason: string): ParsedTarget {
  return { ok: false, code, reason };
}

/**
 * Parses a request target the way the most lenient upstream would read it, so that the route the proxy
 * picks is the route the upstream would serve. Forms that servers disagree on are refused with 400:
 * dot segments (raw or `%2e`), encoded `/` or `\`, raw `\`, empty segments (`//`), control characters,
 * invalid percent-encoding and fragments. Percent-encoded ordinary characters, letter case, matrix
 * parameters (`;jsessionid=...`, cut as Tomcat does) and one trailing `/` match the plain route, and the
 * target is forwarded byte for byte. Absolute-form targets are forwarded in origin-form.
 */
export function parseRequestTarget(url: string): ParsedTarget {
  let forward = url;
  if (!url.startsWith('/')) {
    if (!ABSOLUTE.test(url)) return reject('PROXY_ERR_UNSUPPORTED_TARGET', 'request target must be origin-form');
    const afterScheme = url.indexOf('//') + 2;
    const pathStart = url.slice(afterScheme).search(/[/?#]/);
    if (pathStart === -1) forward = '/';
    else {
      const rest = url.slice(afterScheme + pathStart);
      forward = rest.startsWith('/') ? rest : `/${rest}`;
    }
  }
  if (forward.includes('#')) return reject('PROXY_ERR_AMBIGUOUS_PATH', 'fragment in request target');
  const q = forward.indexOf('?');
  const path = q === -1 ? forward : forward.slice(0, q);
  if (path.includes('\\')) return reject('PROXY_ERR_AMBIGUOUS_PATH', 'backslash in path');
  if (isPlain(path)) return plainSegments(forward, path);
  const raw = path.split('/');
  const segments: string[] = [];
  for (let i = 1; i < raw.length; i++) {
    let seg = raw[i]!;
    if (seg === '') {
      if (i === raw.length - 1) break;
      return reject('PROXY_ERR_AMBIGUOUS_PATH', 'empty path segment ("//")');
    }
    const semi = seg.indexOf(';');
    if (semi !== -1) {
      seg = seg.slice(0, semi);
      if (seg === '') return reject('PROXY_ERR_AMBIGUOUS_PATH', 'path segment with only matrix parameters');
    }
    if (seg.includes('%')) {
      if (/%(?![0-9A-Fa-f]{2})/.test(seg)) return reject('PROXY_ERR_AMBIGUOUS_PATH', 'invalid percent-encoding');
      try {
        seg = decodeURIComponent(seg);
      } catch {
        return reject('PROXY_ERR_AMBIGUOUS_PATH', 'percent-encoding is not valid UTF-8');
      }
      if (/[/\\]/.test(seg)) return reject('PROXY_ERR_AMBIGUOUS_PATH', 'encoded "/" or "\\" in path');
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(seg)) return reject('PROXY_ERR_AMBIGUOUS_PATH', 'control character in path');
    if (seg === '.' || seg === '..') return reject('PROXY_ERR_AMBIGUOUS_PATH', 'dot segment in path');
    segments.push(seg.toLowerCase());
  }
  return { ok: true, forward, segments };
}

/** No `%`, `;`, `\\` or control characters: segments need no decoding (the common case, kept fast). */
function isPlain(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 || c === 59 || c === 92 || c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

function plainSegments(forward: string, path: string): ParsedTarget {
  const segments = path.length === 1 ? [] : path.slice(1).toLowerCase().split('/');
  const last = segments.length - 1;
  for (let i = 0; i <= last; i++) {
    const seg = segments[i]!;
    if (seg === '') {
      if (i !== last) return reject('PROXY_ERR_AMBIGUOUS_PATH', 'empty path segment ("//")');
      segments.pop();
    } else if (seg === '.' || seg === '..') return reject('PROXY_ERR_AMBIGUOUS_PATH', 'dot segment in path');
  }
  return { ok: true, forward, segments };
}
