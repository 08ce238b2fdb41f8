/**
 * parseIptablesSave over every iptables-save file of the shared corpus, read in place (issue and PR
 * excerpts, unlicensed blog repositories: not copyable). The copyable ones are also fixtures of the
 * default suite (test/fixtures/iptables-save/SOURCES.md).
 */
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../../agent/parsers/iptables-save.js';
import { corpusFiles, corpusText } from './corpus.js';

describe('parseIptablesSave: the shared corpus (read in place, not copied)', () => {
  const files = corpusFiles('iptables-save');

  it('every corpus file gives a value or a typed error with a line, never a throw', () => {
    expect(files.length).toBeGreaterThanOrEqual(19);
    for (const f of files) {
      const r = parseIptablesSave(corpusText('iptables-save', f));
      if (!r.ok) {
        expect(['syntax', 'truncated', 'incompatible', 'empty']).toContain(r.error.code);
        expect(r.error.line).toBeGreaterThan(0);
      }
    }
  });

  it.each([
    ['issue-calico-8403-iptables-nft-save-raw-incompatible.txt', 'incompatible', 2],
    ['issue-calico-8636-ip6tables-save-c-bpf-excerpt.txt', 'truncated', 21],
    ['issue-aws-vpc-cni-34-iptables-save-nat-filter-chunkA-excerpt.txt', 'syntax', 1],
    ['zhaoshouzhong-calico-iptables-save-raw-with-elision.txt', 'syntax', 11], // the author's "---" elision line
  ])('%s → %s at line %d', (f, code, line) => {
    const r = parseIptablesSave(corpusText('iptables-save', f));
    expect(r).toMatchObject({ ok: false, error: { code, line } });
  });
});
