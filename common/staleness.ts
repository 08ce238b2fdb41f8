/**
 * Staleness, the one definition: a source that reports every `intervalSeconds` is stale once more
 * than `staleAfterIntervals` intervals have passed since it was last heard from. A time that does
 * not parse (or a `nowMs` that is not a number) counts as stale: nothing shows the source is alive,
 * and a stale node is only reported (agent-stale), never used as the truth its peers must match.
 */
export const isStale = (lastHeard: string, intervalSeconds: number, staleAfterIntervals: number, nowMs: number): boolean => {
  const at = Date.parse(lastHeard);
  if (Number.isNaN(at) || Number.isNaN(nowMs)) return true;
  return nowMs - at > staleAfterIntervals * intervalSeconds * 1000;
};
