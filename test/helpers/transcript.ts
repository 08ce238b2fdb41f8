/**
 * A pasted terminal transcript → the output of each command, keyed by the command: prompt lines
 * (`user@host:~$ cmd`, `[root@h ~]# cmd`, `bash# cmd`) start a new output, a bare prompt with no
 * command ends one; markdown indentation, fences and the author's `...` elisions are removed. Output
 * before the first prompt is keyed by ''.
 */
export const transcript = (text: string): Map<string, string> => {
  const ls = text.split('\n').filter((l) => !/^\s*(```|\.\.\.)\s*$/.test(l));
  const indents = ls.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0);
  const cut = Math.min(...indents);
  const out = new Map<string, string>();
  let cmd: string | null = '';
  for (const raw of ls) {
    const l = raw.slice(cut);
    const p = /^(?:\S+[#$]|\[[^\]]+\][#$])(?:\s+(.*))?$/.exec(l);
    if (p) {
      cmd = p[1]?.trim() || null;
      if (cmd !== null) out.set(cmd, '');
      continue;
    }
    if (cmd !== null) out.set(cmd, `${out.get(cmd) ?? ''}${l}\n`);
  }
  return out;
};
