import { describe, expect, it } from 'vitest';
import { cidrContains, cidrIndex, contains, familyOf, isHostRoute, isLinkLocal, overlaps, parseCidr, parseIp, PrefixTable, stripHostPrefix, stripPrefix } from '../../common/net.js';

// One definition of addresses and prefixes for the agent and the aggregator (#14): the two former
// modules disagreed on `fe80::1%eth0`.
describe('addresses and prefixes', () => {
  it('parses IPv4 and IPv6 (compressed, embedded IPv4), rejects junk', () => {
    expect(parseIp('10.0.0.31')).toEqual({ family: 'inet', value: 0x0a00001fn, zone: null });
    expect(parseIp('::1')).toEqual({ family: 'inet6', value: 1n, zone: null });
    expect(parseIp('::ffff:10.0.0.1')?.value).toBe((0xffffn << 32n) | 0x0a000001n);
    for (const bad of ['10.0.0', '10.0.0.256', '1::2::3', 'g::1', '', 'default', '1:2:3:4:5:6:7:8:9', 'vxlan.calico', '10.0.0.1%eth0']) expect(parseIp(bad)).toBeNull();
    expect(familyOf('10.0.0.1')).toBe('inet');
    expect(familyOf('fd00::1')).toBe('inet6');
    expect(familyOf('junk')).toBeNull();
  });

  it('keeps the zone id of a scoped address apart, and never takes a scoped text as a prefix', () => {
    expect(parseIp('fe80::1%eth0')).toEqual({ family: 'inet6', value: (0xfe80n << 112n) | 1n, zone: 'eth0' });
    expect(parseCidr('fe80::1%eth0')).toBeNull();
    expect(parseCidr('fe80::1%eth0/128')).toBeNull();
    expect(isHostRoute('fe80::1%eth0')).toBe(false);
    expect(isLinkLocal('fe80::1%eth0')).toBe(true);
  });

  it('parses prefixes with host bits cleared; a bare address is its host prefix', () => {
    expect(parseCidr('10.48.0.129/26')?.text).toBe('10.48.0.128/26');
    expect(parseCidr('10.48.0.5')).toMatchObject({ prefix: 32, text: '10.48.0.5/32' });
    expect(parseCidr('fd00:10:244:1::7/122')?.text).toBe('fd00:10:244:1::/122');
    expect(parseCidr('::ffff:10.0.0.1')?.prefix).toBe(128);
    expect(parseCidr('10.48.0.128/26')).toMatchObject({ start: 0x0a300080n, end: 0x0a3000bfn });
    for (const bad of ['default', '10.0.0.0/33', 'fd00::1::2/64', 'vxlan.calico', '', '10.0.0.0/x', '::/129']) expect(parseCidr(bad)).toBeNull();
    expect(stripHostPrefix('10.0.1.31/32')).toBe('10.0.1.31');
    expect(stripHostPrefix('10.0.1.0/24')).toBe('10.0.1.0/24');
    expect(stripPrefix('10.48.0.128/32')).toBe('10.48.0.128');
    expect(isHostRoute('10.48.0.128')).toBe(true);
    expect(isHostRoute('2000::1/128')).toBe(true);
    expect(isHostRoute('10.48.0.128/26')).toBe(false);
  });

  it('containment and overlap are per family', () => {
    const pool = parseCidr('10.48.0.0/16')!;
    const block = parseCidr('10.48.0.192/26')!;
    expect(contains(pool, block)).toBe(true);
    expect(contains(block, pool)).toBe(false);
    expect(overlaps(block, parseCidr('10.48.0.0/24')!)).toBe(true);
    expect(overlaps(block, parseCidr('10.48.1.0/26')!)).toBe(false);
    expect(overlaps(parseCidr('::/0')!, block)).toBe(false);
    expect(cidrContains('172.17.255.128/26', '172.17.255.191')).toBe(true);
    expect(cidrContains('172.17.255.128/26', '172.17.255.192')).toBe(false);
    expect(cidrContains('fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e40/122', 'fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e7f')).toBe(true);
    expect(cidrContains('0.0.0.0/0', '::1')).toBe(false);
    expect(cidrContains('10.0.0.0/33', '10.0.0.1')).toBe(false);
  });

  it('recognises link-local addresses', () => {
    expect(isLinkLocal('fe80::64ba:9dff:fece:21bb')).toBe(true);
    expect(isLinkLocal('febf::1')).toBe(true);
    expect(isLinkLocal('fec0::1')).toBe(false);
    expect(isLinkLocal('169.254.1.1')).toBe(true);
    expect(isLinkLocal('10.0.0.1')).toBe(false);
  });

  it('PrefixTable finds the longest covering prefix, not shorter than minPrefix', () => {
    const t = new PrefixTable<string>();
    for (const c of ['10.0.0.0/8', '10.48.0.0/16', 'fd00::/48']) t.add(parseCidr(c)!, c);
    expect(t.lookup(parseCidr('10.48.0.192/26')!)?.value).toBe('10.48.0.0/16');
    expect(t.lookup(parseCidr('10.49.0.0/26')!)?.value).toBe('10.0.0.0/8');
    expect(t.lookup(parseCidr('10.49.0.0/26')!, 16)).toBeUndefined();
    expect(t.lookup(parseCidr('fd00:0:0:5::/122')!)?.value).toBe('fd00::/48');
    expect(t.lookup(parseCidr('192.168.0.0/26')!)).toBeUndefined();
  });

  it('cidrIndex finds the prefix holding an address across lengths and families', () => {
    const idx = cidrIndex(['10.244.1.0/26', '10.244.2.0/26', '10.96.0.0/12', 'fd00:244:1::/122', 'not-a-cidr']);
    expect(idx.find('10.244.2.7')).toBe('10.244.2.0/26');
    expect(idx.find('10.100.0.1')).toBe('10.96.0.0/12');
    expect(idx.find('fd00:244:1::3f')).toBe('fd00:244:1::/122');
    expect(idx.find('10.244.3.1')).toBeUndefined();
    expect(idx.find('junk')).toBeUndefined();
  });
});
