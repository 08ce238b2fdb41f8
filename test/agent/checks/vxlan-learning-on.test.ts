import { describe, expect, it } from 'vitest';
import { vxlanLearningOn } from '../../../agent/checks/vxlan-learning-on.js';
import { healthyVxlanSections, healthyVxlanSnapshot, vxlanWith, withUnavailable } from '../../helpers/snapshot.js';

// issue #2
describe('vxlan-learning-on', () => {
  it('is ok with nolearning', () => {
    expect(vxlanLearningOn.run({ snapshot: healthyVxlanSnapshot() })).toEqual({ status: 'ok' });
  });

  it('finds learning on vxlan.calico', () => {
    const snap = vxlanWith('links', (ls) => void (ls.find((l) => l.name === 'vxlan.calico')!.vxlan!.learning = true));
    const out = vxlanLearningOn.run({ snapshot: snap });
    expect(out.status === 'finding' && out.findings[0]).toMatchObject({ subject: 'vxlan.calico', severity: 'warning', evidence: { seen: 'vxlan.calico: vxlan id 4096 learning' } });
  });

  it('is unknown without links', () => {
    expect(vxlanLearningOn.run({ snapshot: withUnavailable(healthyVxlanSections(), ['links']) }).status).toBe('unknown');
  });
});
