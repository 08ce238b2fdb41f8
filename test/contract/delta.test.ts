import { describe, expect, it } from 'vitest';
import { meshSnapshot } from '../../bench/aggregator-mesh.js';
import { applySplices, computeSplices, hashIpsetsSection, hashListSection, ipsetsDelta, listDelta, MAX_SPLICES, spliceError, splicedLength, type KeySplice } from '../../contract/delta.js';
import { hashSection } from '../../contract/hash.js';
import { Report } from '../../contract/report.js';
import { Sections } from '../../contract/snapshot.js';

/** `prev` with the key splices applied, inserts read from `next`. */
const apply = (prev: string[], next: string[], ks: KeySplice[]): string[] => {
  const out: string[] = [];
  applySplices(
    prev.length,
    (k) => prev[k]!,
    ks.map((s) => ({ at: s.at, remove: s.remove, insert: next.slice(s.from, s.from + s.count) })),
    (x) => x,
    (x) => x,
    (x) => out.push(x),
  );
  return out;
};

const roundTrip = (prev: string[], next: string[]) => {
  const ks = computeSplices(prev, next);
  expect(spliceError(prev.length, ks)).toBeNull();
  expect(apply(prev, next, ks)).toEqual(next);
  return ks;
};

const list = (n: number, tag = 'e') => Array.from({ length: n }, (_, k) => `${tag}${k}`);

// issue #3
describe('contract/delta computeSplices: entry-level deltas', () => {
  it('one splice for an insert, a removal or a changed entry', () => {
    const base = list(10);
    expect(roundTrip(base, [...base.slice(0, 4), 'new', ...base.slice(4)])).toEqual([{ at: 4, remove: 0, from: 4, count: 1 }]);
    expect(roundTrip(base, [...base.slice(0, 4), ...base.slice(5)])).toEqual([{ at: 4, remove: 1, from: 4, count: 0 }]);
    expect(roundTrip(base, [...base.slice(0, 4), 'changed', ...base.slice(5)])).toEqual([{ at: 4, remove: 1, from: 4, count: 1 }]);
    expect(roundTrip(base, ['first', ...base])).toEqual([{ at: 0, remove: 0, from: 0, count: 1 }]);
    expect(roundTrip(base, [...base, 'last'])).toEqual([{ at: 10, remove: 0, from: 10, count: 1 }]);
  });

  it('nothing for equal lists; whole-list splices from and to empty', () => {
    expect(roundTrip(list(5), list(5))).toEqual([]);
    expect(roundTrip([], [])).toEqual([]);
    expect(roundTrip([], list(3))).toEqual([{ at: 0, remove: 0, from: 0, count: 3 }]);
    expect(roundTrip(list(3), [])).toEqual([{ at: 0, remove: 3, from: 0, count: 0 }]);
  });

  it('a join and a leave far apart are two splices', () => {
    const base = list(1000);
    const next = [...base.slice(0, 100), 'joined', ...base.slice(100, 800), ...base.slice(801)];
    expect(roundTrip(base, next)).toEqual([
      { at: 100, remove: 0, from: 100, count: 1 },
      { at: 800, remove: 1, from: 801, count: 0 },
    ]);
  });

  it('reorders and duplicates give a valid (if larger) script', () => {
    roundTrip(['a', 'b', 'c', 'd'], ['b', 'c', 'd', 'a']);
    roundTrip(['a', 'b', 'c', 'd'], ['d', 'c', 'b', 'a']);
    roundTrip(['a', 'a', 'b'], ['a', 'b', 'b', 'a']);
    roundTrip(['x', 'x', 'x'], ['x']);
  });

  it('random edits of random lists always reproduce the new list', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let t = 0; t < 300; t++) {
      const prev = Array.from({ length: rnd(30) }, () => `v${rnd(20)}`);
      const next = [...prev];
      for (let e = rnd(6); e > 0; e--) {
        const op = rnd(3);
        if (op === 0) next.splice(rnd(next.length + 1), 0, `v${rnd(25)}`);
        else if (op === 1 && next.length) next.splice(rnd(next.length), 1);
        else if (next.length) next[rnd(next.length)] = `v${rnd(25)}`;
      }
      roundTrip(prev, next);
    }
  });

  it('a large list (5000 entries, one join) is one splice', () => {
    const base = list(5000);
    const next = [...base.slice(0, 2500), 'joined', ...base.slice(2500)];
    expect(roundTrip(base, next)).toHaveLength(1);
  });
});

describe('contract/delta spliceError and hashListSection', () => {
  it('refuses negative, unsorted, overlapping and out-of-range splices', () => {
    expect(spliceError(10, [{ at: 2, remove: 1 }, { at: 3, remove: 0 }])).toBeNull();
    expect(spliceError(10, [{ at: -1, remove: 0 }])).toMatch(/non-negative/);
    expect(spliceError(10, [{ at: 0, remove: -2 }])).toMatch(/non-negative/);
    expect(spliceError(10, [{ at: 1.5, remove: 0 }])).toMatch(/integers/);
    expect(spliceError(10, [{ at: 5, remove: 2 }, { at: 6, remove: 0 }])).toMatch(/overlaps/);
    expect(spliceError(10, [{ at: 5, remove: 0 }, { at: 2, remove: 0 }])).toMatch(/sorted/);
    expect(spliceError(10, [{ at: 9, remove: 2 }])).toMatch(/base list has 10 entries/);
    expect(spliceError(10, [{ at: 11, remove: 0 }])).toMatch(/base list/);
  });

  it('splicedLength counts the result', () => {
    expect(splicedLength(10, [{ remove: 2, insert: [1] }, { remove: 0, insert: [1, 2] }])).toBe(11);
  });

  it('hashListSection equals hashSection of the ok section', () => {
    const routes = meshSnapshot(0, 5, 1).sections.routes;
    const data = routes.status === 'ok' ? routes.data : [];
    expect(hashListSection(data.map((r) => JSON.stringify(r)))).toBe(hashSection(routes));
    expect(hashListSection([])).toBe(hashSection({ status: 'ok', data: [] }));
  });

  it('entries keep their JSON through the contract schema (so the aggregator can hash parsed entries)', () => {
    const s = meshSnapshot(2, 6, 1).sections;
    const parsed = Sections.parse(JSON.parse(JSON.stringify(s)));
    for (const name of ['routes', 'neighbours', 'fdb'] as const) expect(hashSection(parsed[name])).toBe(hashSection(s[name]));
  });
});

describe('contract/delta listDelta', () => {
  const routesOf = (n: number) => meshSnapshot(0, n, 1).sections.routes;

  it('a join is one splice inserting the new peer route', () => {
    const prev = routesOf(20);
    const next = routesOf(21);
    const d = listDelta('a'.repeat(64), prev, next);
    expect(d).not.toBeNull();
    expect(d!.base).toBe('a'.repeat(64));
    expect(d!.splices).toHaveLength(1);
    expect(d!.splices[0]!.insert).toHaveLength(1);
    expect(d!.splices[0]!.remove).toBe(0);
  });

  it('falls back (null) when the delta is not much smaller than the section, or either side is not an ok list', () => {
    expect(listDelta('a'.repeat(64), routesOf(2), routesOf(20))).toBeNull();
    expect(listDelta('a'.repeat(64), { status: 'unavailable', reason: 'not-present', detail: 'x' }, routesOf(20))).toBeNull();
    expect(listDelta('a'.repeat(64), routesOf(20), { status: 'unavailable', reason: 'not-present', detail: 'x' })).toBeNull();
    expect(listDelta('a'.repeat(64), { data: [], status: 'ok' }, routesOf(20))).toBeNull();
    // more than MAX_SPLICES scattered changes
    const prev = list(MAX_SPLICES * 40).map((x) => ({ x }));
    const next = prev.map((e, k) => (k % 20 === 0 ? { x: `${e.x}!` } : e));
    expect(listDelta('a'.repeat(64), { status: 'ok', data: prev }, { status: 'ok', data: next })).toBeNull();
  });

  it('the contract accepts a delta section and refuses malformed ones with clear issues', () => {
    const base = Report.parse(JSON.parse(JSON.stringify(Report.parse(reportWith({ hash: 'a'.repeat(64), delta: { base: 'b'.repeat(64), splices: [] } })))));
    expect(base.sections.routes).toMatchObject({ delta: { splices: [] } });
    const bad = (delta: unknown, extra: object = {}) => {
      const r = Report.safeParse(reportWith({ hash: 'a'.repeat(64), delta, ...extra }));
      expect(r.success).toBe(false);
      return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    };
    expect(bad({ base: 'b'.repeat(64), splices: [{ at: -1, remove: 0, insert: [] }] })).toMatch(/sections\.routes\.delta\.splices\.0\.at/);
    expect(bad({ base: 'b'.repeat(64), splices: [{ at: 3, remove: 2, insert: [] }, { at: 4, remove: 0, insert: [] }] })).toMatch(/overlaps/);
    expect(bad({ base: 'b'.repeat(64), splices: [{ at: 0, remove: 0, insert: Array.from({ length: 5000 }, () => ({})) }] })).toMatch(/splices\.0\.insert/);
    expect(bad({ base: 'b'.repeat(64), splices: Array.from({ length: MAX_SPLICES + 1 }, (_, k) => ({ at: k, remove: 0, insert: [] })) })).toMatch(/splices/);
    expect(bad({ base: 'nothex', splices: [] })).toMatch(/delta\.base/);
    expect(bad({ base: 'b'.repeat(64), splices: [] }, { data: { status: 'ok', data: [] } })).toMatch(/data or delta, not both/);
  });
});

const reportWith = (routes: unknown): unknown => {
  const s = meshSnapshot(0, 3, 1);
  const sections = Object.fromEntries(Object.entries(s.sections).map(([k, v]) => [k, { hash: 'c'.repeat(64), data: v }]));
  return {
    schemaVersion: 1,
    node: s.node,
    agentId: 'agent-aaaaaaaa',
    seq: 1,
    agentVersion: '0.1.0',
    intervalSeconds: 30,
    takenAt: s.takenAt,
    sentAt: s.takenAt,
    mode: s.mode,
    identity: s.identity,
    sections: { ...sections, routes },
    checks: [],
    findings: [],
  };
};

describe('contract/delta ipsetsDelta', () => {
  const set = (name: string, members: string[]) => ({ name, type: 'hash:net', family: 'inet' as const, members });
  const section = (...sets: ReturnType<typeof set>[]) => ({ status: 'ok' as const, data: { hostSets: sets, caliSetSizes: Object.fromEntries(sets.map((x) => [x.name, x.members.length])) } });
  const ips = (n: number) => Array.from({ length: n }, (_, k) => `10.1.${k >> 8}.${k & 255}`);

  it('hashIpsetsSection equals hashSection of the section', () => {
    const s = section(set('a', ips(5)), set('b', []), set('c', ['x"y']));
    expect(hashIpsetsSection(s.data.hostSets, s.data.caliSetSizes)).toBe(hashSection(s));
    const mesh = meshSnapshot(0, 7, 1).sections.ipsets;
    expect(mesh.status === 'ok' && hashIpsetsSection(mesh.data.hostSets, mesh.data.caliSetSizes)).toBe(hashSection(mesh));
  });

  it('splices each set against the base set of the same name (empty when new)', () => {
    const d = ipsetsDelta('a'.repeat(64), section(set('a', ips(100)), set('gone', ips(3))), section(set('new', ['1.1.1.1']), set('a', [...ips(100), '9.9.9.9'])));
    expect(d).toEqual({
      base: 'a'.repeat(64),
      hostSets: [
        { name: 'new', type: 'hash:net', family: 'inet', splices: [{ at: 0, remove: 0, insert: ['1.1.1.1'] }] },
        { name: 'a', type: 'hash:net', family: 'inet', splices: [{ at: 100, remove: 0, insert: ['9.9.9.9'] }] },
      ],
      caliSetSizes: { new: 1, a: 101 },
    });
  });

  it('falls back (null) for big changes, repeated names, other key orders, non-ok sections', () => {
    const big = section(set('a', ips(100)));
    expect(ipsetsDelta('a'.repeat(64), section(set('a', ips(10))), big)).toBeNull();
    expect(ipsetsDelta('a'.repeat(64), section(set('a', ips(100)), set('a', [])), big)).toBeNull();
    const reordered = { status: 'ok', data: { caliSetSizes: {}, hostSets: [] } };
    expect(ipsetsDelta('a'.repeat(64), reordered, big)).toBeNull();
    const setOrder = { status: 'ok', data: { hostSets: [{ members: ips(100), name: 'a', type: 'hash:net', family: 'inet' }], caliSetSizes: { a: 100 } } };
    expect(ipsetsDelta('a'.repeat(64), setOrder, big)).toBeNull();
    expect(ipsetsDelta('a'.repeat(64), { status: 'unavailable', reason: 'not-present', detail: 'x' }, big)).toBeNull();
  });

  it('the contract refuses malformed ipsets deltas', () => {
    const ok = { base: 'b'.repeat(64), hostSets: [{ name: 'a', type: 'hash:net', family: 'inet', splices: [{ at: 0, remove: 0, insert: ['1.1.1.1'] }] }], caliSetSizes: { a: 1 } };
    expect(Report.safeParse(reportWith({ hash: 'a'.repeat(64), delta: ok })).success).toBe(false); // routes does not take an ipsets delta
    const withIpsets = (delta: unknown) => {
      const r = reportWith({ hash: 'a'.repeat(64), data: meshSnapshot(0, 3, 1).sections.routes }) as { sections: Record<string, unknown> };
      r.sections.ipsets = { hash: 'a'.repeat(64), delta };
      return Report.safeParse(r);
    };
    expect(withIpsets(ok).success).toBe(true);
    const issues = (delta: unknown) => withIpsets(delta).error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(issues({ ...ok, hostSets: [ok.hostSets[0], ok.hostSets[0]] })).toMatch(/names repeat/);
    expect(issues({ ...ok, hostSets: [{ ...ok.hostSets[0], splices: [{ at: 2, remove: 0, insert: [] }, { at: 1, remove: 0, insert: [] }] }] })).toMatch(/hostSets\.0\.splices: .*sorted/);
    expect(issues({ ...ok, hostSets: [{ ...ok.hostSets[0], splices: [{ at: 0, remove: 0, insert: [7] }] }] })).toMatch(/insert/);
    expect(issues({ ...ok, hostSets: Array.from({ length: 65 }, (_, k) => ({ ...ok.hostSets[0], name: `s${k}` })) })).toMatch(/hostSets/);
  });
});
