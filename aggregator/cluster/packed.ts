/**
 * Packed per-peer lists (issue #3): the store's layout for the N-sized sections (routes,
 * neighbours, FDB entries, all-hosts ipset members) behind the cluster model (./cluster.ts) the correlation rules read.
 *
 * - An EntryTable holds the distinct entries of one kind (one table for routes, one for
 *   neighbours, …): `values[id]` is a frozen entry, `keys[id]` its JSON text. Tables are
 *   append-only: an id, once given, always names the same entry in that table. Dropping dead
 *   entries means building a new table (the store's compaction), never reusing an id, so a list
 *   packed against an old table stays readable for whoever still holds it.
 * - A PackedList is one node's list: the table and the ids in the node's order, in a Uint16Array
 *   when every id fits in 16 bits (tables up to 65 536 entries: a 5000-node mesh has ~5000 per
 *   kind), else a Uint32Array. 2 or 4 bytes per entry instead of an 8-byte pointer.
 * - A packed section (`packedSection`) looks like the wire section (`{ status: 'ok', data }`) to
 *   any reader, but `data` is a getter that builds the plain array on each read. Rules that walk
 *   every node read the packed list instead (`packedOf`, and ./peer-state.ts).
 *
 * Pure data structures; no IO, no module-level state.
 */

export type EntryIds = Uint16Array | Uint32Array;

export class EntryTable<E> {
  readonly values: E[] = [];
  /** the key each entry was interned under (the store's: its JSON text) */
  readonly keys: unknown[] = [];
  private readonly byKey = new Map<unknown, number>();
  /** scratch of distinct(): the stamp of the last check that met each id */
  private marks = new Uint32Array(0);
  private stamp = 0;

  /** `freeze`: entries are frozen as they come in (the store's tables; shared by many nodes) */
  constructor(private readonly freeze = true) {}

  get size(): number {
    return this.values.length;
  }

  /** The id of the entry with this key, adding `value` when the key is new. */
  intern(key: unknown, value: E): number {
    const hit = this.byKey.get(key);
    if (hit !== undefined) return hit;
    const id = this.values.length;
    this.values.push(this.freeze ? deepFreeze(value) : value);
    this.keys.push(key);
    this.byKey.set(key, id);
    return id;
  }

  /** Whether no id of this table occurs twice in `ids` (one pass, no allocation once the scratch has grown). */
  distinct(ids: ArrayLike<number>): boolean {
    if (this.marks.length < this.values.length) this.marks = new Uint32Array(Math.max(this.values.length, this.marks.length * 2, 1024));
    if (this.stamp === 0xffffffff) {
      this.marks.fill(0);
      this.stamp = 0;
    }
    const marks = this.marks;
    const stamp = ++this.stamp;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k] as number;
      if (marks[id] === stamp) return false;
      marks[id] = stamp;
    }
    return true;
  }
}

export interface PackedList<E> {
  readonly table: EntryTable<E>;
  readonly ids: EntryIds;
  /**
   * true when no id occurs twice in `ids` (checked as the list is packed, once per list: the
   * correlation pass counts a list's peers by summing per-entry weights when it is); absent when
   * not known
   */
  readonly distinct?: boolean;
}

/** Ids in the smallest typed array that holds every id of `table` given so far. */
export const idArray = (length: number, tableSize: number): EntryIds => (tableSize <= 0x10000 ? new Uint16Array(length) : new Uint32Array(length));

/** The entry key: the JSON text of an object, the string itself for a string. */
export const entryKey = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** A list of `table` from ids gathered in 32 bits, stored in the smallest array that holds them. */
export const packedIds = <E>(table: EntryTable<E>, ids32: Uint32Array): PackedList<E> => {
  const ids = idArray(ids32.length, table.size);
  ids.set(ids32);
  return { table, ids, distinct: table.distinct(ids32) };
};

/** Packs `values` into `table` (interning each); `keys`, when given, are their entryKey()s. */
export const pack = <E>(table: EntryTable<E>, values: readonly E[], keys?: readonly string[]): PackedList<E> => {
  const ids = new Uint32Array(values.length);
  for (let k = 0; k < values.length; k++) ids[k] = table.intern(keys !== undefined ? keys[k] : entryKey(values[k]), values[k] as E);
  return packedIds(table, ids);
};

/**
 * pack() of a list of strings (an ipset's members: each its own key), trying first the ids of
 * `like`, a list of the same table that most likely holds the same strings in the same order (the
 * same host set from the node before: in a mesh every node's is the all-hosts list, give or take
 * an entry). A string equal to the key of `like`'s next id (or the one after: an entry fewer)
 * takes that id, which is the id interning it gives, without hashing it for the table's map; any
 * other string is interned. Issue #17: a restart round packs N members for each of N nodes.
 */
export const packLike = (table: EntryTable<string>, values: readonly string[], like: PackedList<string> | undefined): PackedList<string> => {
  if (like === undefined || like.table !== table) return pack(table, values);
  const keys = table.keys;
  const hint = like.ids;
  const ids = new Uint32Array(values.length);
  let j = 0;
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    if (j < hint.length && keys[hint[j]!] === v) ids[k] = hint[j++]!;
    else if (j + 1 < hint.length && keys[hint[j + 1]!] === v) {
      ids[k] = hint[j + 1]!;
      j += 2;
    } else ids[k] = table.intern(v, v);
  }
  return packedIds(table, ids);
};

/** The plain array a packed list stands for (the table's shared, frozen entries). */
export const materialise = <E>(list: PackedList<E>): E[] => {
  const out = new Array<E>(list.ids.length);
  const values = list.table.values;
  for (let k = 0; k < list.ids.length; k++) out[k] = values[list.ids[k] as number] as E;
  return out;
};

const PACKED = Symbol('packed');

/** The getter of every packed list property: one function, so that the holders share their shapes. */
function packedGetter(this: { [PACKED]: PackedList<unknown> }): unknown[] {
  return materialise(this[PACKED]);
}

/**
 * An object that reads like `{ ...rest, [prop]: E[] }` and carries the packed list. Its getter is
 * one shared function reading the list from the hidden property: a closure per object gave every
 * holder a shape of its own (most in dictionary mode), which made each read of a section's status
 * or list in a pass over thousands of nodes a slow lookup.
 */
const withPacked = <E, R extends object>(rest: R, prop: string, list: PackedList<E>): R => {
  const out = { ...rest };
  Object.defineProperty(out, prop, { enumerable: true, get: packedGetter });
  Object.defineProperty(out, PACKED, { enumerable: false, value: list });
  return Object.freeze(out);
};

/** A section `{ status: 'ok', data }` whose data is held packed. */
export const packedSection = <E>(list: PackedList<E>): { status: 'ok'; data: E[] } => withPacked({ status: 'ok' as const }, 'data', list) as { status: 'ok'; data: E[] };

/** An ipset host set `{ ...set, members }` whose members are held packed. */
export const packedHostSet = <S extends { members: string[] }>(set: S, list: PackedList<string>): S => {
  const { members: _members, ...rest } = set;
  return withPacked(rest, 'members', list) as S;
};

/** The packed list behind a packed section or host set, or null for a plain one. */
export const packedOf = <E>(holder: object): PackedList<E> | null => (holder as { [PACKED]?: PackedList<E> })[PACKED] ?? null;

export const deepFreeze = <T>(v: T): T => {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
};
