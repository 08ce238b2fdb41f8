/**
 * The plain-text iproute2 parsers over the shared corpus, read in place (no licence that allows
 * copying). The copyable files (rendoaw-*, CC-BY-4.0; kaweezle-*, Apache-2.0) are fixtures of the
 * default suite (test/fixtures/ip-text/SOURCES.md).
 */
import { describe, expect, it } from 'vitest';
import { parseIpTextAddrs, parseIpTextLinks, parseIpTextNeigh, parseIpTextRoutes } from '../../agent/parsers/ip-text.js';
import { transcript } from '../helpers/transcript.js';
import { corpusFiles, corpusText } from './corpus.js';

const corpus = (name: string): string => corpusText('ip-text', name);

const value = <T>(p: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!p.ok) throw new Error(JSON.stringify(p.error));
  return p.value;
};

describe('ip-text parsers on the shared corpus, read in place (not copied: no license)', () => {
  it('ip -d link: vxlan.calico with nolearning, veth @if2 in link-netns <uuid> (9506hqwy, newer iproute2)', () => {
    const links = value(parseIpTextLinks(corpus('9506hqwy-controller-ip-d-link-show-vxlan-calico.txt')));
    expect(links).toHaveLength(12);
    expect(links.find((l) => l.name === 'vxlan.calico')).toMatchObject({ kind: 'vxlan', vxlan: { id: 4096, port: 4789, local: '10.0.0.11', link: 'enp2s0', learning: false } });
    expect(links.filter((l) => l.kind === 'veth' && l.parent === null && l.name.startsWith('cali'))).toHaveLength(8);
    expect(links.find((l) => l.name === 'lo')?.kind).toBeNull();
  });

  it('ip link (BGP mode): cali*@if3 with link-netnsid; ip neigh: vxlan.calico PERMANENT entries', () => {
    const links = value(parseIpTextLinks(corpus('pooriya-control1-ip-link-bgp-mode.txt')));
    expect(links.filter((l) => l.name.startsWith('cali'))).toHaveLength(6);
    expect(links.every((l) => l.parent === null)).toBe(true);
    const neigh = value(parseIpTextNeigh(corpus('pooriya-control1-ip-neigh-show-vxlan-calico.txt')));
    expect(neigh.filter((n) => n.dev === 'vxlan.calico' && n.state.includes('PERMANENT'))).toHaveLength(2);
    expect(neigh.find((n) => n.state.includes('DELAY'))?.dev).toBe('calic7ceee6b788');
  });

  // transcript from projectcalico/node issue #12
  it('unindented CentOS transcript: tunl0@NONE and its route', () => {
    const out = transcript(corpus('issue-node-12-ip-a-ip-route-tunl0-unindented-excerpt.txt'));
    // the excerpt's `ip a` output has its lines unindented by the poster: it is not iproute2's format
    const a = parseIpTextLinks(out.get('ip a') ?? '');
    expect(a.ok).toBe(false);
    expect(!a.ok && a.error).toMatchObject({ code: 'syntax', line: 2 });
    const routes = value(parseIpTextRoutes(out.get('ip route') ?? '', 'inet'));
    expect(routes[0]).toMatchObject({ dst: 'default', protocol: 'static', metric: 100 });
  });

  it('every ip route / ip neigh / ip link file in the corpus parses into contract-valid values or a typed error', () => {
    // files whose name says what they hold; excerpts may be cut mid-line, so a typed error is allowed there
    const names = corpusFiles('ip-text').filter((n) => /route|ip-r-|neigh|link|ip-a-|addr/.test(n));
    expect(names.length).toBeGreaterThan(10);
    for (const n of names) {
      for (const t of transcript(corpus(n)).values()) {
        for (const p of [parseIpTextRoutes(t, 'inet'), parseIpTextNeigh(t), parseIpTextLinks(t), parseIpTextAddrs(t)]) {
          if (p.ok) continue;
          expect(['empty', 'syntax', 'truncated']).toContain(p.error.code);
        }
      }
    }
  });
});
