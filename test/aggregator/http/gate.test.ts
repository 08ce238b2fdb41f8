import { describe, expect, it } from 'vitest';
import { Gate } from '../../../aggregator/http/gate.js';

// issue #3
describe('aggregator/http/gate: bounded report ingestion', () => {
  it('holds at most `limit` slots and hands them out in arrival order', async () => {
    const gate = new Gate(2);
    const a = await gate.acquire();
    const b = await gate.acquire();
    const order: string[] = [];
    const c = gate.acquire().then((r) => (order.push('c'), r));
    const d = gate.acquire().then((r) => (order.push('d'), r));
    await Promise.resolve();
    expect(gate.state()).toEqual({ active: 2, waiting: 2 });
    a();
    const releaseC = await c;
    expect(order).toEqual(['c']);
    b();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    releaseC();
    releaseD();
    expect(gate.state()).toEqual({ active: 0, waiting: 0 });
  });

  it('a slot released twice is given back once', async () => {
    const gate = new Gate(1);
    const r = await gate.acquire();
    r();
    r();
    expect(gate.state()).toEqual({ active: 0, waiting: 0 });
    const again = await gate.acquire();
    expect(gate.state()).toEqual({ active: 1, waiting: 0 });
    again();
  });

  it('refuses a nonsensical limit', () => {
    expect(() => new Gate(0)).toThrow(RangeError);
  });
});
