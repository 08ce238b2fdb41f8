import { describe, expect, it } from 'vitest';
import { confValues, parseSysctlInt, parseSysctlText } from '../../../agent/parsers/sysctl.js';
import { fixture } from './fixture.js';

const must = <T>(p: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!p.ok) throw new Error(`parse failed: ${JSON.stringify(p.error)}`);
  return p.value;
};

/** The blog fixtures are shell sessions: keep only the sysctl output lines. */
const outputOnly = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !/[$#]\s/.test(l))
    .join('\n');

describe('parseSysctlInt (/proc/sys files)', () => {
  it('reads integer files', () => {
    expect(parseSysctlInt('1\n')).toEqual({ ok: true, value: 1 });
    expect(parseSysctlInt('262144\n')).toEqual({ ok: true, value: 262144 });
    expect(parseSysctlInt('-1\n')).toEqual({ ok: true, value: -1 });
  });
  it('rejects empty and multi-value files', () => {
    expect(parseSysctlInt('')).toMatchObject({ ok: false, error: { code: 'empty' } });
    expect(parseSysctlInt('4096\t87380\t6291456\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 1 } });
    expect(parseSysctlInt('99999999999999999999\n')).toMatchObject({ ok: false, error: { code: 'syntax' } });
  });
});

describe('parseSysctlText (sysctl -a style)', () => {
  it('reads recorded output and turns vxlan/calico back into vxlan.calico', () => {
    const e = must(parseSysctlText(fixture('sysctl/cdA-vxlan-node-sysctl-a-r.txt')));
    const rp = confValues(e, 'ipv4', 'rp_filter');
    expect(rp.get('vxlan.calico')).toBe(0);
    expect(rp.get('vxlan-v6.calico')).toBe(0);
    expect(confValues(e, 'ipv4', 'proxy_arp').get('calia1b2c3d4e5f')).toBe(1);
    expect(confValues(e, 'ipv6', 'forwarding').get('all')).toBe(1);
    expect(e.find((x) => x.path.join('.') === 'net.ipv4.ip_forward')?.value).toBe('1');
  });

  it('reads rp_filter of a Calico IPIP node (CC-BY-4.0 blog post), ignoring arp_filter', () => {
    const e = must(parseSysctlText(outputOnly(fixture('sysctl/rendoaw-sysctl-a-grep-rp_filter-calico-node.txt'))));
    const rp = confValues(e, 'ipv4', 'rp_filter');
    expect(rp.get('tunl0')).toBe(1);
    expect(rp.get('lo')).toBe(0);
    expect([...rp.keys()].filter((k) => k.startsWith('cali'))).toHaveLength(3);
    expect(rp.size).toBe(10);
  });

  it('reads forwarding and sysctl -w echoes (CC-BY-4.0 blog post)', () => {
    const f = must(parseSysctlText(outputOnly(fixture('sysctl/rendoaw-sysctl-forwarding-tunl0-cali.txt'))));
    expect(confValues(f, 'ipv4', 'forwarding').get('cali90490b35e30')).toBe(1);
    expect(confValues(f, 'ipv4', 'mc_forwarding').get('tunl0')).toBe(0);
    const w = must(parseSysctlText(outputOnly(fixture('sysctl/rendoaw-sysctl-w-rp_filter-tunl0.txt'))));
    expect(Object.fromEntries(confValues(w, 'ipv4', 'rp_filter'))).toEqual({ tunl0: 0, ens3: 0 });
  });

  it('names the line of a non-sysctl line (e.g. an unstripped shell prompt)', () => {
    expect(parseSysctlText(fixture('sysctl/rendoaw-sysctl-w-rp_filter-tunl0.txt'))).toMatchObject({ ok: false, error: { code: 'syntax', line: 1 } });
    expect(parseSysctlText('net.ipv4.ip_forward = 1\nnet..x = 2\n')).toMatchObject({ ok: false, error: { code: 'syntax', line: 2 } });
  });
});
