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
 */
import type { Command } from 'commander';
import { iptablesTotals, parseIptablesSave, type IptablesDump } from '../agent/parsers/iptables-save.js';
import { painter, renderFields, renderTable, safeLine, type Paint } from './format.js';
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
}
