/**
 * Pure parser of `nft list chains` (text): the tables it names, as `parseNftTableNames` gives them
 * from `nft -j list chains` — family and name, each once, in order of appearance, only tables that
 * hold a chain (the text form also prints an empty table as `table inet x {` + `}`, the JSON form
 * does not list it). #17: on a 100k-rule iptables-nft node (~17k chains) the text form costs nft
 * about half the CPU of the JSON form.
 *
 * The output nft prints (nftables 1.0.6, recorded in test/fixtures/nft/list-chains):
 *
 *     table ip filter {
 *     \tchain INPUT {
 *     \t\ttype filter hook input priority filter; policy accept;
 *     \t}
 *     \tchain cali-INPUT {
 *     \t}
 *     }
 *
 * A name is a run of characters without white space, braces or quotes, or a double-quoted string
 * (nft quotes names in some versions). Anything else is refused with the typed errors of the nft
 * JSON parser (`NftJsonError`): `too-large` over `maxChars`, `syntax` (with its line and column) for
 * a line that is not one of the above (blank lines between tables and chains are allowed) or holds a
 * control character, `truncated` when the output ends inside a table or a chain or without its
 * final newline, `invalid-shape` for a chain listed twice in one table. Never throws. Stateless.
 */
import { NFT_JSON_MAX_CHARS, type NftParseOptions, type NftParsed, type NftTableName } from './nft-json.js';

/** the longest name accepted (the JSON parser's limit) */
const MAX_NAME = 4096;
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const NAME = String.raw`(?:"[^"]*"|[^\s{}"]+)`;
const TABLE = new RegExp(String.raw`^table ([a-z][a-z0-9]*) (${NAME}) \{$`);
const CHAIN = new RegExp(String.raw`^\tchain (${NAME}) \{$`);
/** a base chain's attributes (`type filter hook input priority filter; policy accept;`), a chain comment, devices */
const CHAIN_LINE = /^\t\t\S/;
/** a table's own attributes (`flags dormant`, `comment "…"`), should nft print them: one line, not a block */
const TABLE_LINE = /^\t(?:flags|comment) [^{}]+$/;

const unquote = (n: string): string => (n.startsWith('"') ? n.slice(1, -1) : n);

type Fail = { ok: false; error: { code: 'syntax' | 'truncated' | 'invalid-shape'; message: string; line: number; column?: number } };
const fail = (code: Fail['error']['code'], message: string, line: number, column?: number): Fail => ({
  ok: false,
  error: column === undefined ? { code, message: `${message} (line ${line})`, line } : { code, message: `${message} (line ${line}, column ${column})`, line, column },
});

export const parseNftListChains = (text: string, opts: NftParseOptions = {}): NftParsed<NftTableName[]> => {
  const max = opts.maxChars ?? NFT_JSON_MAX_CHARS;
  if (text.length > max) return { ok: false, error: { code: 'too-large', message: `nft output is ${text.length} characters, over the cap of ${max}` } };
  if (text === '') return { ok: true, value: [] };
  if (!text.endsWith('\n')) return fail('truncated', 'the output does not end with a newline', text.split('\n').length);
  const bad = CONTROL.exec(text);
  if (bad !== null) {
    const before = text.slice(0, bad.index);
    const col = bad.index - before.lastIndexOf('\n');
    return fail('syntax', `control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} in the output`, before.split('\n').length, col);
  }
  const lines = text.slice(0, -1).split('\n');
  const out: NftTableName[] = [];
  /** per `family name` (a table listed twice is one table): its chains seen */
  const byTable = new Map<string, { table: NftTableName; chains: Set<string> }>();
  let table: { table: NftTableName; chains: Set<string> } | null = null;
  let inChain = false;
  let opened = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const n = i + 1;
    if (line === '' && !inChain) continue; // a blank line between tables or chains, should nft print one
    if (table === null) {
      const m = TABLE.exec(line);
      if (m === null) return fail('syntax', `expected \`table <family> <name> {\`, got ${JSON.stringify(line.slice(0, 80))}`, n, 1);
      const name = unquote(m[2]!);
      if (name === '' || name.length > MAX_NAME) return fail('syntax', `table name of ${name.length} characters`, n, 7 + m[1]!.length);
      const key = `${m[1]!} ${name}`;
      let t = byTable.get(key);
      if (t === undefined) byTable.set(key, (t = { table: { family: m[1]!, name }, chains: new Set() }));
      table = t;
      opened = n;
    } else if (inChain) {
      if (line === '\t}') inChain = false;
      else if (!CHAIN_LINE.test(line)) return fail('syntax', `expected a chain attribute line or \`\\t}\`, got ${JSON.stringify(line.slice(0, 80))}`, n, 1);
    } else if (line === '}') {
      table = null;
    } else {
      const m = CHAIN.exec(line);
      if (m !== null) {
        const name = unquote(m[1]!);
        if (name === '' || name.length > MAX_NAME) return fail('syntax', `chain name of ${name.length} characters`, n, 8);
        if (table.chains.has(name)) return fail('invalid-shape', `chain ${name} of table ${table.table.family} ${table.table.name} listed twice`, n);
        if (table.chains.size === 0) out.push(table.table);
        table.chains.add(name);
        inChain = true;
        opened = n;
      } else if (!TABLE_LINE.test(line)) {
        return fail('syntax', `expected \`\\tchain <name> {\` or \`}\`, got ${JSON.stringify(line.slice(0, 80))}`, n, 1);
      }
    }
  }
  if (table !== null) return fail('truncated', `the output ends inside ${inChain ? 'a chain' : `table ${table.table.family} ${table.table.name}`} opened at line ${opened}`, lines.length);
  return { ok: true, value: out };
};
