import { parsePeer, parsePeers, TrustedPeers } from './trusted-peers';

describe('trusted peers (PROXY_TRUSTED_PEERS)', () => {
  it.each([
    ['10.0.0.7', { address: '10.0.0.7', family: 'ipv4' }],
    ['10.0.0.0/8', { address: '10.0.0.0', family: 'ipv4', prefix: 8 }],
    ['::1', { address: '::1', family: 'ipv6' }],
    ['fd00::/8', { address: 'fd00::', family: 'ipv6', prefix: 8 }],
    [' 192.168.1.0/24 ', { address: '192.168.1.0', family: 'ipv4', prefix: 24 }],
  ])('parses %s', (text, entry) => expect(parsePeer(text)).toEqual(entry));

  it.each([
    ['proxy.internal', /not an IPv4 or IPv6 address/],
    ['10.0.0.0/33', /from 0 to 32/],
    ['::/129', /from 0 to 128/],
    ['10.0.0.0/x', /from 0 to 32/],
    ['10.0.0.0/8/9', /more than one/],
  ])('refuses %s naming the problem', (text, problem) => expect(parsePeer(text)).toMatch(problem));

  it('parses a list, ignoring empty items, and names every bad entry', () => {
    expect(parsePeers('').entries).toEqual([]);
    const { entries, problems } = parsePeers('10.0.0.0/8, ,bad, ::1,1.2.3.4/40');
    expect(entries.map((e) => e.address)).toEqual(['10.0.0.0', '::1']);
    expect(problems).toHaveLength(2);
  });

  it('trusts addresses inside its blocks only; IPv4-mapped IPv6 counts as IPv4', () => {
    const peers = new TrustedPeers(parsePeers('10.0.0.0/8,::1,fd00::/8').entries);
    expect(peers.trusts('10.1.2.3')).toBe(true);
    expect(peers.trusts('::ffff:10.1.2.3')).toBe(true);
    expect(peers.trusts('11.0.0.1')).toBe(false);
    expect(peers.trusts('::ffff:11.0.0.1')).toBe(false);
    expect(peers.trusts('::1')).toBe(true);
    expect(peers.trusts('fd12::5')).toBe(true);
    expect(peers.trusts('fe80::1')).toBe(false);
    expect(peers.trusts(undefined)).toBe(false);
    expect(new TrustedPeers().trusts('127.0.0.1')).toBe(false);
  });
});
