import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { TrustedPeers } from '../inbound/trusted-peers';

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1, RFC 9112) plus `Expect`, which the proxy answers itself, and
 * `Proxy-Connection`, a non-standard field some clients still send. Never forwarded in either direction.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'upgrade',
  'expect',
]);

/** Request fields the proxy sets itself. */
const SET_BY_PROXY = new Set(['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id']);

/** Prefix of the request fields that belong to the proxy (`X-Strangler-Dry-Run`, the identity it verified...). */
export const OWN_PREFIX = 'x-strangler-';

/**
 * What the proxy does with its own request fields on the way upstream: the client's `X-Strangler-*` copies are
 * removed unless the client is a trusted peer (whose copies of the `owned` fields are removed all the same), the
 * fields in `set` are added, and `Authorization` is removed when the proxy verified it and forwards identity instead.
 */
export interface OwnHeaders {
  /** The client is a trusted peer: its `X-Strangler-*` fields pass, except the `owned` ones. */
  readonly trusted: boolean;
  /** Names (lowercase) whose client copies are removed even from a trusted peer: the proxy decides them here. */
  readonly owned: readonly string[];
  /** Fields the proxy sets itself, flat `[name, value, ...]`, names lowercase (each one of `owned`). */
  readonly set: readonly string[];
  /** Remove the client's `Authorization` (the proxy verified the token and forwards the identity in `set`). */
  readonly dropAuthorization: boolean;
}

/** An untrusted client, nothing added: every `X-Strangler-*` field of the request is removed. */
export const UNTRUSTED: OwnHeaders = Object.freeze({ trusted: false, owned: [], set: [], dropAuthorization: false });

/** A trusted peer, nothing added: its `X-Strangler-*` fields pass. */
export const TRUSTED: OwnHeaders = Object.freeze({ trusted: true, owned: [], set: [], dropAuthorization: false });

/** The starting point for a client at `address`: trusted peer or not. */
export function ownHeadersFor(peers: TrustedPeers, address: string | undefined): OwnHeaders {
  return peers.trusts(address) ? TRUSTED : UNTRUSTED;
}

/** Whether a client field is removed by the {@link OwnHeaders} rules (`lower`: its lowercase name). */
function removedAsOwn(lower: string, own: OwnHeaders): boolean {
  if (lower === 'authorization') return own.dropAuthorization;
  if (!lower.startsWith(OWN_PREFIX)) return false;
  if (!own.trusted) return true;
  return own.owned.includes(lower);
}

/** Field names listed in `Connection` (lowercased); they are hop-by-hop too. */
function connectionListed(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const names = new Set<string>();
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '') names.add(name);
  }
  return names;
}

function clientAddress(req: IncomingMessage): string {
  const addr = req.socket.remoteAddress ?? '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

/**
 * Headers to send upstream, as a flat `[name, value, ...]` list keeping the client's order, case and
 * duplicates: hop-by-hop fields dropped, `Host` set to the upstream, `X-Forwarded-For` appended to,
 * `X-Forwarded-Proto`/`X-Forwarded-Host` set from what this proxy saw, `X-Request-Id` set, the proxy's own
 * fields handled as `own` says (by default every client `X-Strangler-*` field removed). With `upgrade`, `Connection: Upgrade` and the `Upgrade` field are kept (WebSocket pass-through).
 */
export function upstreamRequestHeaders(
  req: IncomingMessage,
  upstreamHost: string,
  requestId: string,
  own: OwnHeaders = UNTRUSTED,
  upgrade = false,
): string[] {
  const raw = req.rawHeaders;
  const listed = connectionListed(req.headers.connection);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || SET_BY_PROXY.has(lower) || listed?.has(lower)) {
      if (lower === 'x-forwarded-for')
        forwardedFor = forwardedFor === undefined ? raw[i + 1]! : `${forwardedFor}, ${raw[i + 1]!}`;
      continue;
    }
    if (removedAsOwn(lower, own)) continue;
    out.push(name, raw[i + 1]!);
  }
  for (const field of own.set) out.push(field);
  const client = clientAddress(req);
  out.push('host', upstreamHost);
  out.push('x-forwarded-for', forwardedFor === undefined ? client : `${forwardedFor}, ${client}`);
  out.push('x-forwarded-proto', (req.socket as TLSSocket).encrypted ? 'https' : 'http');
  const host = req.headers.host;
  if (host !== undefined) out.push('x-forwarded-host', host);
  out.push('x-request-id', requestId);
  if (upgrade) {
    out.push('connection', 'Upgrade');
    const up = req.headers.upgrade;
    if (up !== undefined) out.push('upgrade', up);
  }
  return out;
}

/**
 * Response headers for the client from undici's raw `[name, value, ...]` buffers: hop-by-hop fields and
 * the upstream's own `X-Request-Id` dropped (the proxy's is added by the caller through `extra`).
 */
export function clientResponseHeaders(raw: readonly Buffer[] | readonly string[], extra: readonly string[]): string[] {
  const out: string[] = [];
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      listed ??= new Set();
      for (const n of connectionListed(raw[i + 1]!.toString('latin1'))!) listed.add(n);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || lower === 'x-request-id') continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  const kept = listed === undefined ? out : dropListed(out, listed);
  for (const e of extra) kept.push(e);
  return kept;
}

function dropListed(headers: string[], listed: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2)
    if (!listed.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  return out;
}

/** Trailers from undici's raw list as a header object for `res.addTrailers`. */
export function trailerObject(raw: readonly Buffer[] | readonly string[] | null): Record<string, string> | undefined {
  if (!raw || raw.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) out[raw[i]!.toString('latin1')] = raw[i + 1]!.toString('latin1');
  return out;
}
