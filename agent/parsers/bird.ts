/**
 * Pure parser for BIRD's control-socket protocol (what `birdcl` speaks to /var/run/calico/bird.ctl).
 *
 * Every reply line starts with a 4-digit code followed by `-` (more lines follow) or a space (last
 * line of the reply); a line starting with a space continues the previous code. Codes: 0001 the
 * greeting ("0001 BIRD v0.3.3+birdv1.6.8 ready."), 0000 OK/end, 0016 access restricted,
 * 1xxx table rows (1002 a `show protocols` row, 1006 its `all` details), 2xxx table headers
 * (2002 "name proto table state since info"), 8xxx run-time errors, 9xxx parse errors
 * (BIRD doc/reply_codes; the sample in projectcalico/calico node/pkg/health/bird/bird.go).
 */
import { parsed, parseError, type Parsed } from '../../contract/result.js';

export interface BgpProtocolParsed {
  name: string;
  proto: string;
  table: string | null;
  state: string;
  since: string | null;
  info: string;
}

const CODE_LINE = /^(\d{4})([ -])(.*)$/;

/** True once `received` holds a complete reply after the greeting (a final line other than 0001). */
export const birdReplyComplete = (received: string): boolean => {
  const lines = received.split('\n');
  // the last element is an unfinished line (or '' after the final newline)
  for (const line of lines.slice(0, -1)) {
    const m = /^(\d{4})( |$)/.exec(line);
    if (m && m[1] !== '0001') return true;
  }
  return false;
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$/;

const row = (text: string, lineNo: number): Parsed<BgpProtocolParsed> => {
  const w = text.trim().split(/\s+/);
  if (w.length < 4) return parseError('syntax', `protocol row has ${w.length} columns, expected at least 4`, lineNo);
  const [name, proto, table, state] = w as [string, string, string, string];
  let rest = w.slice(4);
  let since: string | null = rest[0] ?? null;
  rest = rest.slice(1);
  // BIRD 2 / "timeformat protocol iso long" prints the date and the time as two words
  if (since !== null && DATE.test(since) && rest[0] !== undefined && TIME.test(rest[0])) {
    since = `${since} ${rest[0]}`;
    rest = rest.slice(1);
  }
  return parsed({ name, proto, table: table === '---' ? null : table, state, since, info: rest.join(' ') });
};

/** Parses the whole exchange (greeting included) of `show protocols` / `show protocols all`. */
export const parseBirdProtocols = (text: string): Parsed<BgpProtocolParsed[]> => {
  if (text.trim() === '') return parseError('empty', 'no reply from BIRD');
  const out: BgpProtocolParsed[] = [];
  let code: string | null = null;
  let ended = false;
  let sawHeader = false;
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    const lineNo = i + 1;
    if (line.trim() === '') continue;
    if (ended) return parseError('syntax', 'output after the end of the reply', lineNo);
    let body: string;
    const m = CODE_LINE.exec(line);
    if (m) {
      code = m[1] ?? '';
      body = m[3] ?? '';
      const last = m[2] === ' ';
      if (code.startsWith('8') || code.startsWith('9')) return parseError('incompatible', `BIRD replied ${code}: ${body.trim()}`, lineNo);
      if (code === '0001' || code === '0016') continue;
      if (code === '0000' || (last && !code.startsWith('1') && !code.startsWith('2'))) {
        ended = code === '0000' || last;
        continue;
      }
    } else if (/^\d{4}$/.test(line)) {
      // "0000" with no separator: the end of the reply
      if (line === '0000') {
        ended = true;
        continue;
      }
      code = line;
      continue;
    } else if (line.startsWith(' ') || line.startsWith('\t')) {
      if (code === null) return parseError('syntax', 'continuation line before any reply code', lineNo);
      body = line;
    } else {
      return parseError('syntax', `not a BIRD reply line: ${JSON.stringify(line.slice(0, 60))}`, lineNo);
    }
    if (code === '2002') {
      sawHeader = true;
      continue;
    }
    if (code === '1002') {
      const r = row(body, lineNo);
      if (!r.ok) return r;
      out.push(r.value);
    }
    // 1006 (details of `show protocols all`) and other codes are not needed
  }
  if (!ended) return parseError('truncated', 'reply ends before its final line (0000)', lines.length);
  if (!sawHeader && out.length > 0) return parseError('syntax', 'protocol rows without the 2002 header');
  return parsed(out);
};
