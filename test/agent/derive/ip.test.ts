import { describe, expect, it } from 'vitest';
import { cidrContains, cidrIndex, isHostRoute, isLinkLocal, parseCidr, parseIp, stripPrefix } from '../../../agent/derive/ip.js';

// issue #2
describe('IP helpers', () => {
  it('parses IPv4 and IPv6 (compressed, embedded IPv4, zone), rejects junk', () => {
    expect(parseIp('10.0.0.31')).toEqual({ family: 'inet', value: 0x0a00001fn });
    expect(parseIp('::1')).toEqual({ family: 'inet6', value: 1n });
    expect(parseIp('fe80::1%eth0')?.value).toBe((0xfe80n << 112n) | 1n);
    expect(parseIp('::ffff:10.0.0.1')?.value).toBe((0xffffn << 32n) | 0x0a000001n);
    for (const bad of ['10.0.0', '10.0.0.256', '1::2::3', 'g::1', '', 'default', '1:2:3:4:5:6:7:8:9']) expect(parseIp(bad)).toBeNull();
  });

  it('tests containment by family and prefix, bare addresses as host prefixes', () => {
    expect(cidrContains('172.17.255.128/26', '172.17.255.128')).toBe(true);
    expect(cidrContains('172.17.255.128/26', '172.17.255.191')).toBe(true);
    expect(cidrContains('172.17.255.128/26', '172.17.255.192')).toBe(false);
    expect(cidrContains('fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e40/122', 'fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e7f')).toBe(true);
    expect(cidrContains('fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e40/122', 'fd80:24e2:f998:72d6:fb13:7db7:9fcc:7e80')).toBe(false);
    expect(cidrContains('0.0.0.0/0', '::1')).toBe(false);
    expect(cidrContains('10.0.0.0/33', '10.0.0.1')).toBe(false);
    expect(parseCidr('10.48.0.128')).toEqual({ family: 'inet', network: 0x0a300080n, prefixlen: 32 });
    expect(isHostRoute('10.48.0.128')).toBe(true);
    expect(isHostRoute('10.48.0.128/32')).toBe(true);
    expect(isHostRoute('2000::1/128')).toBe(true);
    expect(isHostRoute('10.48.0.128/26')).toBe(false);
    expect(stripPrefix('10.48.0.128/32')).toBe('10.48.0.128');
  });

  it('recognises link-local addresses', () => {
    expect(isLinkLocal('fe80::64ba:9dff:fece:21bb')).toBe(true);
    expect(isLinkLocal('febf::1')).toBe(true);
    expect(isLinkLocal('fec0::1')).toBe(false);
    expect(isLinkLocal('169.254.1.1')).toBe(true);
    expect(isLinkLocal('10.0.0.1')).toBe(false);
  });

  it('cidrIndex finds the holding CIDR across prefix lengths and families', () => {
    const idx = cidrIndex(['10.244.1.0/26', '10.244.2.0/26', '10.96.0.0/12', 'fd00:244:1::/122', 'not-a-cidr']);
    expect(idx.find('10.244.2.7')).toBe('10.244.2.0/26');
    expect(idx.find('10.100.0.1')).toBe('10.96.0.0/12');
    expect(idx.find('fd00:244:1::3f')).toBe('fd00:244:1::/122');
    expect(idx.find('10.244.3.1')).toBeUndefined();
    expect(idx.find('junk')).toBeUndefined();
  });
});
