/**
 * Pure parsers of nft's text listings of tables: `nft list chains` and `nft list flowtables`.
 *
 * `parseNftListChains`: the tables `nft list chains` names, as `parseNftTableNames` gives them
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
 *
 * `parseNftListFlowtables`: every table `nft list flowtables` prints (#17). nft fetches only the
 * tables and their flowtables for it, so it costs next to nothing where `list chains` costs nft
 * 0.03–0.07 s of CPU on a 100k-rule iptables-nft node (17k chains). Each table is printed, with or
 * without chains, as `table ip filter {` + `}`; a flowtable as a block like a chain's:
 *
 *     table inet t {
 *     \tflowtable ft {
 *     \t\thook ingress priority filter
 *     \t\tdevices = { eth0 }
 *     \t}
 *     }
 *
 * (this kernel has no flowtables to record one: the block is as nft prints it, and a block an nft
 * prints otherwise is a `syntax` error, as above).
 */
import { NFT_JSON_MAX_CHARS, type NftParseOptions, type NftParsed, type NftTableName } from './nft-json.js';

/** the longest name accepted (the JSON parser's limit) */
const MAX_NAME = 4096;
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const NAME = String.raw`(?:"[^"]*"|[^\s{}"]+)`;
const TABLE = new RegExp(String.raw`^table ([a-z][a-z0-9]*) (${NAME}) \{$`);
/** the blocks a listing's tables may hold: chains in `list chains`; flowtables in `list flowtables` (read with chains too: see below) */
const BLOCK = { chains: new RegExp(String.raw`^\t(chain) (${NAME}) \{$`), tables: new RegExp(String.raw`^\t(chain|flowtable) (${NAME}) \{$`) } as const;
/** a base chain's attributes (`type filter hook input priority filter; policy accept;`), a chain comment, devices; a flowtable's hook and devices */
const CHAIN_LINE = /^\t\t\S/;
/** a table's own attributes (`flags dormant`, `comment "…"`), should nft print them: one line, not a block */
const TABLE_LINE = /^\t(?:flags|comment) [^{}]+$/;

const unquote = (n: string): string => (n.startsWith('"') ? n.slice(1, -1) : n);

type Fail = { ok: false; error: { code: 'syntax' | 'truncated' | 'invalid-shape'; message: string; line: number; column?: number } };
const fail = (code: Fail['error']['code'], message: string, line: number, column?: number): Fail => ({
  ok: false,
  error: column === undefined ? { code, message: `${message} (line ${line})`, line } : { code, message: `${message} (line ${line}, column ${column})`, line, column },
});

export const parseNftListChains = (text: string, opts: NftParseOptions = {}): NftParsed<NftTableName[]> => parseListing(text, opts, 'chains');

/**
 * Every table of `nft list flowtables`; a `nft list chains` listing is read the same way (every
 * table of it), as a bundle recorded by an older agent answers with it (agent/host/replay.ts).
 */
export const parseNftListFlowtables = (text: string, opts: NftParseOptions = {}): NftParsed<NftTableName[]> => parseListing(text, opts, 'tables');

/**
 * A listing of table blocks: `chains` reads `nft list chains` and gives the tables that hold a chain
 * (as the JSON form lists them); `tables` reads blocks of chains or flowtables and gives every table.
 */
const parseListing = (text: string, opts: NftParseOptions, mode: keyof typeof BLOCK): NftParsed<NftTableName[]> => {
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
  /** per `family name` (a table listed twice is one table): the names of its blocks seen */
  const byTable = new Map<string, { table: NftTableName; blocks: Set<string> }>();
  let table: { table: NftTableName; blocks: Set<string> } | null = null;
  /** the kind of the block being read (`chain`, `flowtable`), or null between blocks */
  let inBlock: string | null = null;
  let opened = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const n = i + 1;
    if (line === '' && inBlock === null) continue; // a blank line between tables or chains, should nft print one
    if (table === null) {
      const m = TABLE.exec(line);
      if (m === null) return fail('syntax', `expected \`table <family> <name> {\`, got ${JSON.stringify(line.slice(0, 80))}`, n, 1);
      const name = unquote(m[2]!);
      if (name === '' || name.length > MAX_NAME) return fail('syntax', `table name of ${name.length} characters`, n, 7 + m[1]!.length);
      const key = `${m[1]!} ${name}`;
      let t = byTable.get(key);
      if (t === undefined) {
        byTable.set(key, (t = { table: { family: m[1]!, name }, blocks: new Set() }));
        if (mode === 'tables') out.push(t.table);
      }
      table = t;
      opened = n;
    } else if (inBlock !== null) {
      if (line === '\t}') inBlock = null;
      else if (!CHAIN_LINE.test(line)) return fail('syntax', `expected a ${inBlock} attribute line or \`\\t}\`, got ${JSON.stringify(line.slice(0, 80))}`, n, 1);
    } else if (line === '}') {
      table = null;
    } else {
      const m = BLOCK[mode].exec(line);
      if (m !== null) {
        const kind = m[1]!;
        const name = unquote(m[2]!);
        if (name === '' || name.length > MAX_NAME) return fail('syntax', `${kind} name of ${name.length} characters`, n, kind.length + 3);
        if (table.blocks.has(`${kind} ${name}`)) return fail('invalid-shape', `${kind} ${name} of table ${table.table.family} ${table.table.name} listed twice`, n);
        if (table.blocks.size === 0 && mode === 'chains') out.push(table.table);
        table.blocks.add(`${kind} ${name}`);
        inBlock = kind;
        opened = n;
      } else if (!TABLE_LINE.test(line)) {
        return fail('syntax', `expected \`\\t${mode === 'chains' ? 'chain' : 'chain|flowtable'} <name> {\` or \`}\`, got ${JSON.stringify(line.slice(0, 80))}`, n, 1);
      }
    }
  }
  if (table !== null) return fail('truncated', `the output ends inside ${inBlock !== null ? `a ${inBlock}` : `table ${table.table.family} ${table.table.name}`} opened at line ${opened}`, lines.length);
  return { ok: true, value: out };
};
