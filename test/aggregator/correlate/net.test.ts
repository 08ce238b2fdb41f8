import { describe, expect, it } from 'vitest';
import { contains, overlaps, parseCidr, parseIPv4, PrefixTable, stripHostPrefix } from '../../../aggregator/correlate/net.js';

// issue #3
describe('address helpers for correlation', () => {
  it('parses IPv4/IPv6 prefixes, clears host bits, refuses garbage without throwing', () => {
    expect(parseIPv4('10.48.0.129')).toBe(0x0a300081);
    expect(parseIPv4('10.48.0')).toBeNull();
    expect(parseIPv4('10.48.0.256')).toBeNull();
    expect(parseCidr('10.48.0.129/26')?.text).toBe('10.48.0.128/26');
    expect(parseCidr('10.48.0.5')).toMatchObject({ prefix: 32, text: '10.48.0.5/32' });
    expect(parseCidr('fd00:10:244:1::7/122')?.text).toBe('fd00:10:244:1:0:0:0:0/122');
    expect(parseCidr('::ffff:10.0.0.1')?.prefix).toBe(128);
    for (const bad of ['default', '10.0.0.0/33', 'fd00::1::2/64', 'vxlan.calico', '']) expect(parseCidr(bad)).toBeNull();
    expect(stripHostPrefix('10.0.1.31/32')).toBe('10.0.1.31');
    expect(stripHostPrefix('10.0.1.0/24')).toBe('10.0.1.0/24');
  });

  it('containment and overlap are per family', () => {
    const pool = parseCidr('10.48.0.0/16')!;
    const block = parseCidr('10.48.0.192/26')!;
    expect(contains(pool, block)).toBe(true);
    expect(contains(block, pool)).toBe(false);
    expect(overlaps(block, parseCidr('10.48.0.0/24')!)).toBe(true);
    expect(overlaps(block, parseCidr('10.48.1.0/26')!)).toBe(false);
    expect(overlaps(parseCidr('::/0')!, block)).toBe(false);
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
});
