import { execFileSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { collectProcessMetrics, safeLabel } from '../../common/metrics.js';

// issue #6
describe('collectProcessMetrics: output passes promtool check metrics', () => {
  it('exports process metrics that promtool accepts, without the _total-suffixed gauges', async () => {
    const registry = new Registry();
    collectProcessMetrics(registry, 'calico_diag_aggregator_');
    const text = await registry.metrics();
    expect(text).toContain('calico_diag_aggregator_process_cpu_seconds_total');
    expect(text).toContain('calico_diag_aggregator_nodejs_active_handles ');
    expect(text).not.toContain('nodejs_active_handles_total');
    expect(execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' }).trim()).toBe('');
  });
});

describe('safeLabel', () => {
  // #16: strings from reports reached metric labels unescaped
  it('keeps ordinary names and replaces control characters, quotes and spaces', () => {
    expect(safeLabel('node-00001.example.com')).toBe('node-00001.example.com');
    expect(safeLabel('vxlan.calico')).toBe('vxlan.calico');
    expect(safeLabel('fe80::1')).toBe('fe80::1');
    expect(safeLabel('a"b\n}\u001b[31m')).toBe('a_b____31m');
    expect(safeLabel('x'.repeat(500))).toHaveLength(128);
  });
});
