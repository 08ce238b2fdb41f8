import { describe, expect, it } from 'vitest';
import { verifiedAgentUrl } from '../../../aggregator/auth/agent-url.js';

describe('the agent URL the aggregator calls', () => {
  it('is the advertised URL when it points at one of the node’s own addresses', () => {
    expect(verifiedAgentUrl('http://10.0.0.5:9477', ['10.0.0.5'])).toBe('http://10.0.0.5:9477/');
    expect(verifiedAgentUrl('http://[fd00::5]:9477/', ['10.0.0.5', 'fd00:0::5'])).toBe('http://[fd00::5]:9477/');
  });

  // #16: a token holder could point the aggregator's diagnosis at any URL, which then received the token
  it('is refused for any other host, a name, credentials, a path or another scheme', () => {
    const own = ['10.0.0.5'];
    expect(verifiedAgentUrl('http://169.254.169.254/', own)).toBeUndefined();
    expect(verifiedAgentUrl('http://attacker.example:9477/', own)).toBeUndefined();
    expect(verifiedAgentUrl('http://user:pw@10.0.0.5:9477/', own)).toBeUndefined();
    expect(verifiedAgentUrl('http://10.0.0.5:9477/latest/meta-data', own)).toBeUndefined();
    expect(verifiedAgentUrl('http://10.0.0.5:9477/?x=1', own)).toBeUndefined();
    expect(verifiedAgentUrl('file:///etc/passwd', own)).toBeUndefined();
    expect(verifiedAgentUrl('not a url', own)).toBeUndefined();
    expect(verifiedAgentUrl(undefined, own)).toBeUndefined();
    expect(verifiedAgentUrl('http://10.0.0.5:9477/', [])).toBeUndefined();
  });
});
