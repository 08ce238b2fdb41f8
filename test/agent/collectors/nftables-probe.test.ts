import { describe, expect, it } from 'vitest';
import { probeNftTables } from '../../../agent/collectors/nftables.js';
import type { CollectorConfig, Host } from '../../../agent/collectors/types.js';
import { fakeRunner } from '../../helpers/fake-runner.js';

const config: CollectorConfig = { timeoutMs: 5000, felixHealthUrl: 'http://127.0.0.1:9099', birdSocket: '/var/run/calico/bird.ctl' };
const TABLES = '{"nftables":[{"metainfo":{"version":"1.0.6","release_name":"Lester Gooch #5","json_schema_version":1}},{"table":{"family":"ip","name":"calico","handle":1}}]}';
const hostWith = () => {
  const run = fakeRunner({ 'nft -j list chains': { stdout: TABLES } });
  const unused = () => {
    throw new Error('not used');
  };
  const host: Host = { run, readFile: unused, listDir: unused, httpGet: unused, unixExchange: unused };
  return { host, run };
};

describe('probeNftTables', () => {
  // #17
  it('runs `nft -j list chains` once per Host: the collectors of one snapshot share it', async () => {
    const a = hostWith();
    const [x, y] = await Promise.all([probeNftTables(a.host, config), probeNftTables(a.host, config)]);
    expect(x).toEqual({ status: 'ok', data: { tables: ['ip calico'], calico: ['ip calico'] } });
    expect(y).toBe(x);
    expect(a.run.calls).toHaveLength(1);
    // another snapshot (another Host) probes again
    const b = hostWith();
    await probeNftTables(b.host, config);
    expect(b.run.calls).toHaveLength(1);
  });
});
