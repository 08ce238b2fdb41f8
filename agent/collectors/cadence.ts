/**
 * A collector read at most once per `minAgeMs` (#17: agent daemon cost). Within that time after a
 * read started, the wrapped collector's last result is returned as is (the same object, so callers
 * can tell a reused section: `===`); a failed or crashed read is not kept.
 *
 * The agent daemon wraps the iptables collector with 1.5 intervals (`IPTABLES_READ_INTERVALS`):
 * the ruleset is dumped and parsed every second snapshot, which halves the daemon's largest cost on
 * a big node (a 100k-rule dump and its parse, bench/results.md), and a rule change or a DROP rule
 * that starts counting packets still shows within two intervals: the next read is at most two
 * intervals after any change. The ipsets collector gets the same wrapper (agent/main.ts), so both
 * are read on the same snapshots and share that snapshot's `nft list chains` probe; an ipset
 * change shows within two intervals too. The one-shot `calico-diag snapshot` reads everything every
 * time.
 * State: the last result and when its read started; one instance per daemon.
 */
import type { SectionName, Sections } from '../../contract/snapshot.js';
import type { Collector } from './types.js';

/** Reads of iptables in the daemon: at most one per this many intervals, so one per 2 snapshots. */
export const IPTABLES_READ_INTERVALS = 1.5;

export const atMostEvery = <K extends SectionName>(collector: Collector<K>, minAgeMs: number, monotonic: () => number): Collector<K> => {
  let last: { result: Sections[K]; startedAt: number } | null = null;
  return async (host, config, context) => {
    const now = monotonic();
    if (last !== null && now - last.startedAt < minAgeMs) return last.result;
    const result = await collector(host, config, context);
    last = result.status === 'ok' ? { result, startedAt: now } : null;
    return result;
  };
};
