/**
 * Pure parsers for ipset: `ipset save` (create/add lines, the restore format) and `ipset list`
 * (Name:/Type:/Header:/Members: blocks). Both give the sets with name, type, family and members.
 * A member is kept as ipset prints its element (`10.0.0.0/16`, `10.0.0.1,tcp:80`); per-element
 * options (timeout, counters, comment) are dropped. Never throw.
 */
import { parsed, parseError, type Parsed } from '../../contract/result.js';

export interface IpSetParsed {
  name: string;
  type: string;
  family: 'inet' | 'inet6' | null;
  members: string[];
}

const familyFrom = (words: string[]): 'inet' | 'inet6' | null => {
  const i = words.indexOf('family');
  const f = i >= 0 ? words[i + 1] : undefined;
  return f === 'inet' || f === 'inet6' ? f : null;
};

/** The first three words of a trimmed, non-empty line (words as `split(/\s+/)` makes them). */
const HEAD = /^(\S+)(?:\s+(\S+))?(?:\s+(\S+))?/;
/** The word `family` and the word after it, searched from `lastIndex` (the end of HEAD's match). */
const FAMILY = /\sfamily(?:\s+(\S+))?(?!\S)/g;

/**
 * `ipset save` / `ipset -o save list`. #17 (daemon cost): a big node's save has thousands of sets
 * and many more members; a line's words are not all split out, only the three every line needs
 * (verb, set, type or element) and, on `create` lines, the word after `family`. Same words, same
 * results and errors as splitting each trimmed line on /\s+/.
 */
export const parseIpsetSave = (text: string): Parsed<IpSetParsed[]> => {
  const sets = new Map<string, IpSetParsed>();
  let lineNo = 0;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '' || line.startsWith('#')) continue;
    const m = HEAD.exec(line) as RegExpExecArray; // a trimmed non-empty line starts with a word
    const verb = m[1] as string;
    const name = m[2];
    const third = m[3];
    if (verb === 'create') {
      if (name === undefined || third === undefined) return parseError('syntax', 'create needs a name and a type', lineNo);
      if (sets.has(name)) return parseError('syntax', `set ${name} created twice`, lineNo);
      FAMILY.lastIndex = m[0].length;
      const f = FAMILY.exec(line)?.[1];
      sets.set(name, { name, type: third, family: f === 'inet' || f === 'inet6' ? f : null, members: [] });
    } else if (verb === 'add') {
      if (name === undefined || third === undefined) return parseError('syntax', 'add needs a set name and an element', lineNo);
      const set = sets.get(name);
      if (!set) return parseError('syntax', `add to unknown set ${name}`, lineNo);
      set.members.push(third);
    } else {
      return parseError('syntax', `unknown command ${JSON.stringify(verb.slice(0, 40))}`, lineNo);
    }
  }
  return parsed([...sets.values()]);
};

/** `ipset list` (human format). */
export const parseIpsetList = (text: string): Parsed<IpSetParsed[]> => {
  const out: IpSetParsed[] = [];
  let cur: IpSetParsed | null = null;
  let inMembers = false;
  const lines = text.split('\n');
  const finish = (lineNo: number): Parsed<null> => {
    if (cur && cur.type === '') return parseError('syntax', `set ${cur.name} has no Type:`, lineNo);
    if (cur && !inMembers) return parseError('truncated', `set ${cur.name} ends before its Members: line`, lineNo);
    if (cur) out.push(cur);
    cur = null;
    inMembers = false;
    return parsed(null);
  };
  for (const [i, raw] of lines.entries()) {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line.startsWith('Name:')) {
      const done = finish(lineNo);
      if (!done.ok) return done;
      const name = line.slice(5).trim();
      if (name === '') return parseError('syntax', 'empty set name', lineNo);
      cur = { name, type: '', family: null, members: [] };
      continue;
    }
    if (line === '') {
      // a blank line ends the member list of the current set
      if (cur && inMembers) {
        const done = finish(lineNo);
        if (!done.ok) return done;
      }
      continue;
    }
    if (!cur) return parseError('syntax', `expected "Name:", got ${JSON.stringify(line.slice(0, 60))}`, lineNo);
    if (inMembers) {
      const member = line.split(/\s+/)[0] ?? '';
      cur.members.push(member);
      continue;
    }
    const m = /^([A-Za-z ]+):\s*(.*)$/.exec(line);
    if (!m) return parseError('syntax', `expected "Field: value", got ${JSON.stringify(line.slice(0, 60))}`, lineNo);
    const field = m[1] ?? '';
    const value = m[2] ?? '';
    if (field === 'Type') cur.type = value;
    else if (field === 'Header') cur.family = familyFrom(value.split(/\s+/));
    else if (field === 'Members') inMembers = true;
    // Revision, Size in memory, References, Number of entries: not needed
  }
  const done = finish(lines.length);
  if (!done.ok) return done;
  return parsed(out);
};
