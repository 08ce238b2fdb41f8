/**
 * `calico-diag parse iptables-save [-o table|wide|json|yaml]`: parse an iptables-save /
 * ip6tables-save dump (with or without -c) from stdin with our own parser and print totals.
 *
 *   default   a readable summary: totals, per table, warnings, DROP/REJECT rules that counted packets
 *   -o wide   the summary plus one row per chain (policy, rules, counters)
 *   -o json   {"tables", "chains", "rules", "packets", "bytes", "perTable", "warnings"} on one line
 *   (--json)  where the first five are totals (packets/bytes summed over the rule counters);
 *   -o yaml   the same document as YAML
 * Exit codes: 0 parsed, 1 malformed input (one line on stderr naming the line number).
 *
 * `calico-diag parse nft [-o table|wide|json|yaml]`: parse `nft -j list ruleset` from stdin and
 * print what the agent reduces it to on Calico's nftables dataplane: the encapsulation guards, the
 * guarding sets' members, the DROP/REJECT rules that counted packets (wide: every drop rule and the
 * summarised chains); json/yaml: {"ipv4","ipv6","chains","dropRules","idlePolicyDropRules",
 * "encapGuards","warnings","ipsets"}. Malformed input: exit 1 with the position (line and column,
 * or the JSON path).
 */
import type { Command } from 'commander';
import { iptablesTotals, parseIptablesSave, type IptablesDump } from '../agent/parsers/iptables-save.js';
import { parseNftJson, type NftRuleset } from '../agent/parsers/nft-json.js';
import { nftIpSets, summariseNftRuleset, type NftSummary } from '../agent/collectors/nftables.js';
import { painter, renderFields, renderTable, safeLine, type Paint } from './format.js';
import type { IpSets } from '../contract/snapshot.js';
import { CliError, type CliIo } from './io.js';
import { addOutputOptions, isStructured, outputFormat, renderStructured, type OutputFlags } from './output.js';

interface TableTotals {
  table: string;
  chains: number;
  rules: number;
  packets: number;
  bytes: number;
}

const perTable = (dump: IptablesDump): TableTotals[] =>
  dump.tables.map((t) => {
    let rules = 0;
    let packets = 0;
    let bytes = 0;
    for (const c of t.chains) {
      rules += c.ruleCount;
      const counted = c.ruleCounters();
      packets += counted.packets;
      bytes += counted.bytes;
    }
    return { table: t.name, chains: t.chains.length, rules, packets, bytes };
  });

const summary = (dump: IptablesDump, wide: boolean, paint: Paint): string => {
  const totals = iptablesTotals(dump);
  let out = renderFields([
    ['tables', String(totals.tables)],
    ['chains', String(totals.chains)],
    ['rules', String(totals.rules)],
    ['packets', dump.hasCounters ? String(totals.packets) : `${totals.packets} (no rule counters: not saved with -c)`],
    ['bytes', String(totals.bytes)],
  ]);
  out += '\n' + renderTable(
    ['TABLE', 'CHAINS', 'RULES', 'PACKETS', 'BYTES'],
    perTable(dump).map((t) => [t.table, String(t.chains), String(t.rules), String(t.packets), String(t.bytes)]),
    { paint },
  );
  if (wide) {
    const chains = dump.tables.flatMap((t) =>
      t.chains.map((c) => {
        const counted = c.ruleCounters();
        return [t.name, c.name, c.policy ?? '-', String(c.ruleCount), String(counted.packets), String(counted.bytes)];
      }),
    );
    out += '\n' + renderTable(['TABLE', 'CHAIN', 'POLICY', 'RULES', 'PACKETS', 'BYTES'], chains, { maxCellWidth: 100, paint });
  }
  const hits: string[][] = [];
  for (const t of dump.tables)
    for (const c of t.chains)
      for (const r of c.rules) {
        if ((r.packets ?? 0) > 0 && (r.target === 'DROP' || r.target === 'REJECT')) {
          hits.push([t.name, c.name, String(r.index), r.target, String(r.packets), r.caliId ?? '', r.comments.filter((x) => !x.startsWith('cali:')).join('; ')]);
        }
      }
  if (hits.length > 0) {
    out += '\nDROP/REJECT rules that counted packets:\n' + renderTable(['TABLE', 'CHAIN', '#', 'TARGET', 'PACKETS', 'CALI-ID', 'COMMENT'], hits, { paint, style: (col) => (col === 3 ? 'red' : undefined) });
  }
  if (dump.warnings.length > 0) out += '\nwarnings:\n' + dump.warnings.map((w) => `  line ${w.line}: ${safeLine(w.message)}\n`).join('');
  return out;
};

const nftSummary = (rs: NftRuleset, s: NftSummary, sets: IpSets, wide: boolean, paint: Paint): string => {
  let out = renderFields([
    ['tables', rs.tables.map((t) => `${t.family} ${t.name}`).join(', ') || '(none)'],
    ['ipv4', `${s.ipv4.chains} chains, ${s.ipv4.rules} rules`],
    ['ipv6', `${s.ipv6.chains} chains, ${s.ipv6.rules} rules`],
    ['idle policy drops', String(s.idlePolicyDropRules)],
  ]);
  if (s.encapGuards.length > 0) {
    out += '\nencapsulation guards:\n' + renderTable(
      ['FAMILY', 'ENCAP', 'FORM', 'SET', 'CHAIN', 'DROP #', 'DROPPED'],
      s.encapGuards.map((g) => [g.family, g.encapsulation, g.form, g.set, `${g.table} ${g.chain}`, String(g.drop.index), String(g.drop.packets)]),
      { paint },
    );
  }
  if (sets.hostSets.length > 0) out += '\nguarding sets:\n' + sets.hostSets.map((h) => `  ${safeLine(h.name)}: ${safeLine(h.members.join(', ')) || '(empty)'}\n`).join('');
  if (wide) {
    out += '\n' + renderTable(
      ['TABLE', 'CHAIN', 'POLICY', 'RULES'],
      s.chains.map((c) => [c.table, c.chain, c.policy ?? '-', String(c.rules)]),
      { maxCellWidth: 100, paint },
    );
  }
  const drops = wide ? s.dropRules : s.dropRules.filter((d) => d.packets > 0);
  if (drops.length > 0) {
    out += `\n${wide ? 'DROP/REJECT rules' : 'DROP/REJECT rules that counted packets'}:\n` + renderTable(
      ['TABLE', 'CHAIN', '#', 'TARGET', 'PACKETS', 'CALI-ID', 'COMMENT'],
      drops.map((d) => [d.table, d.chain, String(d.index), d.target, String(d.packets), d.caliId ?? '', d.comments.join('; ')]),
      { paint, style: (col) => (col === 3 ? 'red' : undefined) },
    );
  }
  if (s.warnings.length > 0) out += '\nwarnings:\n' + s.warnings.map((w) => `  ${safeLine(w)}\n`).join('');
  return out;
};

export function registerParseCommand(program: Command, io: CliIo): void {
  const parse = program.command('parse').description('parse a saved tool output from stdin and print what calico-diag reads from it');
  const cmd = parse.command('iptables-save').description('parse `iptables-save [-c]` / `ip6tables-save [-c]` output from stdin and print totals');
  addOutputOptions(cmd).action(async (opts: OutputFlags) => {
    const format = outputFormat(opts);
    const text = await io.stdin();
    const r = parseIptablesSave(text);
    if (!r.ok) {
      const where = r.error.line !== undefined && !r.error.message.startsWith(`line ${r.error.line}`) ? `line ${r.error.line}: ` : '';
      throw new CliError(`iptables-save input: ${r.error.code}: ${where}${r.error.message.split('\n')[0]}`);
    }
    const dump = r.value;
    if (!isStructured(format)) return void io.stdout(summary(dump, format === 'wide', painter(io.colour)));
    const t = iptablesTotals(dump);
    const totals = { tables: t.tables, chains: t.chains, rules: t.rules, packets: t.packets, bytes: t.bytes, hasCounters: dump.hasCounters, perTable: perTable(dump), warnings: dump.warnings };
    io.stdout(renderStructured(format, totals, { compact: true }));
  });
  const nft = parse.command('nft').description("parse `nft -j list ruleset` from stdin (Calico's nftables dataplane) and print what the agent reads from it");
  addOutputOptions(nft).action(async (opts: OutputFlags) => {
    const format = outputFormat(opts);
    const r = parseNftJson(await io.stdin());
    if (!r.ok) {
      const e = r.error;
      const where = e.line !== undefined && !e.message.includes('line ') ? ` (line ${e.line}, column ${e.column ?? '?'})` : '';
      throw new CliError(`nft JSON input: ${e.code}: ${safeLine(e.message)}${where}`);
    }
    const s = summariseNftRuleset(r.value);
    const ipsets = nftIpSets(r.value);
    if (!isStructured(format)) return void io.stdout(nftSummary(r.value, s, ipsets, format === 'wide', painter(io.colour)));
    io.stdout(renderStructured(format, { ...s, ipsets }, { compact: true }));
  });
}
