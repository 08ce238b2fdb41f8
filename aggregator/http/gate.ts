/**
 * A counting gate for report ingestion. A full report of a 5000-node mesh is ~2.3 MiB of JSON and
 * tens of MiB once parsed; when a whole cluster sends full reports at once (aggregator restart,
 * node churn) unbounded concurrency turns into a memory high-water mark the process keeps. The
 * gate is taken in onRequest, before fastify reads and parses the body, so waiting requests cost
 * a socket and nothing more; it is released once per request, on response or abort.
 * Concurrency: single-threaded; `waiting` is a FIFO of resolvers, so slots are handed out in
 * arrival order.
 */
export class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`gate limit must be a positive integer, got ${limit}`);
  }

  /** Resolves when a slot is held; call the returned function exactly once to give it back. */
  async acquire(): Promise<() => void> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.active--;
    };
  }

  /** slots in use and requests waiting, for tests and metrics */
  state(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }
}
