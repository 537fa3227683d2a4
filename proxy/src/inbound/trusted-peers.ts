import net from 'node:net';

/** One entry of `PROXY_TRUSTED_PEERS`: an address (`10.0.0.7`, `::1`) or a CIDR block (`10.0.0.0/8`, `fd00::/8`). */
export interface PeerEntry {
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
  /** Prefix length; absent for a single address. */
  readonly prefix?: number;
}

/** Parses one entry; returns the problem as text when it is not an address or a CIDR block. */
export function parsePeer(text: string): PeerEntry | string {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return `"${text}" has more than one "/"`;
  const version = net.isIP(address);
  if (version === 0) return `"${address}" is not an IPv4 or IPv6 address`;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) return { address, family };
  const max = version === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return `"${text}": the prefix length must be a whole number from 0 to ${max}`;
  }
  return { address, family, prefix: Number(prefixText) };
}

/** Parses a comma-separated list of entries; `problems` names every bad one. */
export function parsePeers(list: string): { entries: PeerEntry[]; problems: string[] } {
  const entries: PeerEntry[] = [];
  const problems: string[] = [];
  for (const item of list.split(',')) {
    if (item.trim() === '') continue;
    const parsed = parsePeer(item);
    if (typeof parsed === 'string') problems.push(parsed);
    else entries.push(parsed);
  }
  return { entries, problems };
}

/**
 * The peers whose `X-Strangler-*` request fields the proxy passes on (another proxy of the system in front, an
 * internal caller): every other client's copies are removed before forwarding, as Envoy removes `x-envoy-*` from
 * requests arriving at the edge. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.7`) count as their IPv4 address.
 */
export class TrustedPeers {
  private readonly list = new net.BlockList();
  readonly size: number;

  constructor(entries: readonly PeerEntry[] = []) {
    for (const e of entries) {
      if (e.prefix === undefined) this.list.addAddress(e.address, e.family);
      else this.list.addSubnet(e.address, e.prefix, e.family);
    }
    this.size = entries.length;
  }

  /** Whether a connection from `address` (a socket's `remoteAddress`) comes from a trusted peer. */
  trusts(address: string | undefined): boolean {
    if (this.size === 0 || address === undefined) return false;
    if (address.startsWith('::ffff:') && net.isIPv4(address.slice(7))) return this.list.check(address.slice(7), 'ipv4');
    return this.list.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
  }
}

/** No trusted peer: every client's `X-Strangler-*` fields are removed. */
export const NO_TRUSTED_PEERS = new TrustedPeers();
