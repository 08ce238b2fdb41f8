/**
 * The time source both services and the CLI are given (no module reads the clock by itself; tests
 * pass a fixed one).
 */
export interface Clock {
  /** wall clock, ms since the Unix epoch */
  now(): number;
  /** ms on a monotonic clock, for durations */
  monotonic(): number;
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };
