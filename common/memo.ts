/**
 * `perObject(make)`: a function that computes `make(key)` once per key object and answers the kept
 * value for the same object after that (#17: the agent daemon reuses whole sections of the
 * snapshot before, the same objects, so what is derived from them need not be derived again).
 * For values derived from objects that are never mutated once made. The values are held weakly by
 * their key: a dropped section takes its derived values with it.
 */
export const perObject = <K extends object, V>(make: (key: K) => V): ((key: K) => V) => {
  const kept = new WeakMap<K, V>();
  return (key) => {
    if (kept.has(key)) return kept.get(key) as V;
    const value = make(key);
    kept.set(key, value);
    return value;
  };
};
