import { describe, expect, it } from 'vitest';
import { DropTracer, KFREE_SKB_FILTER, parseKfreeSkbTrace, removeStaleInstances, type TraceFs } from '../../../agent/capture/drop-reasons.js';

// Lines as this lab's kernel (6.18) writes them to an instance's `trace`.
const TRACE = `# tracer: nop
#
# entries-in-buffer/entries-written: 4/4   #P:2
#
            bash-14560   [001] ..s1.  4250.527372: kfree_skb: skbaddr=00000000a939f5f6 rx_sk=0000000000000000 protocol=2048 location=__udp4_lib_rcv+0x4bc/0xd00 reason: NO_SOCKET
          <idle>-0       [000] ..s2.  4251.100000: kfree_skb: skbaddr=0000000021924b4f rx_sk=0000000000000000 protocol=2048 location=nf_hook_slow+0xa1/0xf0 reason: NETFILTER_DROP
          <idle>-0       [000] ..s2.  4251.300000: kfree_skb: skbaddr=0000000021924b4f rx_sk=0000000000000000 protocol=2048 location=nf_hook_slow+0xa1/0xf0 reason: NETFILTER_DROP
          <idle>-0       [001] ..s2.  4251.500000: kfree_skb: skbaddr=00000000a912d8d1 rx_sk=0000000000000000 protocol=34525 location=ip6_rcv_core+0x99/0x500 reason: OTHERHOST
   garbage line without the event
`;

const FORMAT = 'name: kfree_skb\nformat:\n\tfield:void * location;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:enum skb_drop_reason reason;\toffset:36;\tsize:4;\tsigned:0;\n';

/** An in-memory tracefs: files by path, instance directories, and a log of what was done. */
const fakeFs = (files: Record<string, string>, fail: Partial<Record<'mkdir' | 'filter' | 'trace', NodeJS.ErrnoException>> = {}) => {
  const dirs = new Set<string>();
  const log: string[] = [];
  const fs: TraceFs = {
    readdir: async (p) => [...dirs].filter((d) => d.startsWith(`${p}/`)).map((d) => d.slice(p.length + 1)),
    mkdir: async (p) => {
      if (fail.mkdir) throw fail.mkdir;
      dirs.add(p);
      log.push(`mkdir ${p}`);
    },
    rmdir: async (p) => {
      dirs.delete(p);
      log.push(`rmdir ${p}`);
    },
    readFile: async (p) => {
      if (p.endsWith('/trace') && fail.trace) throw fail.trace;
      const v = files[p];
      if (v === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return v;
    },
    writeFile: async (p, d) => {
      if (p.endsWith('/filter') && fail.filter) throw fail.filter;
      log.push(`write ${p} ${d}`);
    },
  };
  return { fs, dirs, log };
};

const ROOT = '/t';
const INST = '/t/instances/calico-diag-cap-1';

describe('parseKfreeSkbTrace', () => {
  it('counts kfree_skb lines by reason and function, most frequent first, skipping comments and junk', () => {
    expect(parseKfreeSkbTrace(TRACE)).toEqual({
      total: 4,
      counts: [
        { reason: 'NETFILTER_DROP', location: 'nf_hook_slow', count: 2 },
        { reason: 'NO_SOCKET', location: '__udp4_lib_rcv', count: 1 },
        { reason: 'OTHERHOST', location: 'ip6_rcv_core', count: 1 },
      ],
    });
    expect(parseKfreeSkbTrace('')).toEqual({ total: 0, counts: [] });
  });
});

describe('DropTracer', () => {
  it('arms its own filtered instance, counts what the trace holds, disables and removes the instance', async () => {
    const { fs, dirs, log } = fakeFs({ [`${ROOT}/events/skb/kfree_skb/format`]: FORMAT, [`${INST}/trace`]: TRACE });
    const t = new DropTracer(fs, ROOT, 'cap-1');
    await t.arm();
    expect(dirs.has(INST)).toBe(true);
    expect(log).toContain(`write ${INST}/events/skb/kfree_skb/filter ${KFREE_SKB_FILTER}`);
    expect(log).toContain(`write ${INST}/events/skb/kfree_skb/enable 1`);
    const d = await t.collect();
    expect(d).toMatchObject({ available: true, total: 4 });
    expect(d.counts[0]).toEqual({ reason: 'NETFILTER_DROP', location: 'nf_hook_slow', count: 2 });
    expect(dirs.size).toBe(0);
    // disabled before the trace is read, removed last; the root instance is never written
    expect(log.indexOf(`write ${INST}/events/skb/kfree_skb/enable 0`)).toBeLessThan(log.indexOf(`rmdir ${INST}`));
    expect(log.filter((l) => l.startsWith(`write ${ROOT}/events`))).toEqual([]);
  });

  it('without tracefs or permission: unavailable with the reason, nothing created', async () => {
    const none = fakeFs({});
    const t = new DropTracer(none.fs, ROOT, 'cap-1');
    await t.arm();
    expect(await t.collect()).toEqual({ available: false, counts: [], total: 0, why: expect.stringMatching(/tracefs at \/t: skb:kfree_skb not found/) });
    expect(none.log).toEqual([]);

    const denied = fakeFs({ [`${ROOT}/events/skb/kfree_skb/format`]: FORMAT }, { mkdir: Object.assign(new Error('EACCES'), { code: 'EACCES' }) });
    const t2 = new DropTracer(denied.fs, ROOT, 'cap-2');
    await t2.arm();
    expect((await t2.collect()).why).toMatch(/cannot create a tracing instance: permission denied/);
  });

  it('a kernel without drop reasons (< 5.17) is reported as such', async () => {
    const old = fakeFs({ [`${ROOT}/events/skb/kfree_skb/format`]: 'format:\n\tfield:void * location;\n\tfield:unsigned short protocol;\n' });
    const t = new DropTracer(old.fs, ROOT, 'cap-1');
    await t.arm();
    expect((await t.collect()).why).toMatch(/no drop reason.*5\.17/);
    expect(old.dirs.size).toBe(0);
  });

  it('a failure after the instance exists (filter refused, trace unreadable) still removes the instance', async () => {
    const bad = fakeFs({ [`${ROOT}/events/skb/kfree_skb/format`]: FORMAT }, { filter: Object.assign(new Error('EINVAL'), { code: 'EINVAL' }) });
    const t = new DropTracer(bad.fs, ROOT, 'cap-1');
    await t.arm();
    expect(bad.dirs.size).toBe(0);
    expect(await t.collect()).toMatchObject({ available: false, why: 'the kernel refused the skb:kfree_skb filter: EINVAL' });

    const unreadable = fakeFs({ [`${ROOT}/events/skb/kfree_skb/format`]: FORMAT }, { trace: Object.assign(new Error('EIO'), { code: 'EIO' }) });
    const t2 = new DropTracer(unreadable.fs, ROOT, 'cap-2');
    await t2.arm();
    expect(unreadable.dirs.size).toBe(1);
    expect(await t2.collect()).toMatchObject({ available: false, why: 'reading the trace failed: EIO' });
    expect(unreadable.dirs.size).toBe(0);
  });

  it('refuses an id that is not a plain capture id (it names a directory)', () => {
    expect(() => new DropTracer(fakeFs({}).fs, ROOT, '../x')).toThrow();
  });

  it('an agent removes only its own leftover instances (tagged with its owner), never another agent\'s', async () => {
    const { fs, dirs } = fakeFs({});
    for (const n of ['calico-diag-aa11-cap-1', 'calico-diag-aa11-cap-2', 'calico-diag-bb22-cap-3', 'someone-else']) dirs.add(`${ROOT}/instances/${n}`);
    expect(await removeStaleInstances(fs, ROOT, 'aa11')).toBe(2);
    expect([...dirs].sort()).toEqual([`${ROOT}/instances/calico-diag-bb22-cap-3`, `${ROOT}/instances/someone-else`]);
    expect(() => new DropTracer(fs, ROOT, 'cap-9', 'A/B')).toThrow();
    const withFormat = fakeFs({ [`${ROOT}/events/skb/kfree_skb/format`]: FORMAT });
    const owned = new DropTracer(withFormat.fs, ROOT, 'cap-9', 'aa11');
    await owned.arm();
    expect([...withFormat.dirs]).toEqual([`${ROOT}/instances/calico-diag-aa11-cap-9`]);
    await owned.collect();
    expect(withFormat.dirs.size).toBe(0);
  });
});
