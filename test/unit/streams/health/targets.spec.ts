import { describe, expect, it } from 'vitest';
import type { HealthConfig } from '../../../../src/config/types.js';
import { healthTarget, sameChecks } from '../../../../src/streams/health/targets.js';
import { backend, pool } from '../../../marble/fixtures.js';

function health(extra: Partial<HealthConfig> = {}): HealthConfig {
  return { kind: 'tcp', port: undefined, path: '/', expectStatus: [[200, 299]], intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3, sendProxy: false, ...extra };
}

describe('healthTarget and send_proxy', () => {
  const b = backend('10.0.0.1:80');

  it("gives the check its pool's PROXY version with send_proxy = true, and none without", () => {
    expect(healthTarget(pool([b], { proxyProtocol: 'v2', health: health({ sendProxy: true }) }), b)?.probe.sendProxy).toBe('v2');
    expect(healthTarget(pool([b], { proxyProtocol: 'v1', health: health({ sendProxy: true }) }), b)?.probe.sendProxy).toBe('v1');
    // a pool that sends a header to its traffic checks without one unless asked, as HAProxy's check-send-proxy
    expect(healthTarget(pool([b], { proxyProtocol: 'v2', health: health() }), b)?.probe).not.toHaveProperty('sendProxy');
  });

  it('checks a backend anew (new counts) when send_proxy or the version changes, and the same when neither does', () => {
    const plain = pool([b], { proxyProtocol: 'v2', health: health() });
    const v2 = pool([b], { proxyProtocol: 'v2', health: health({ sendProxy: true }) });
    const v1 = pool([b], { proxyProtocol: 'v1', health: health({ sendProxy: true }) });
    expect(sameChecks(plain, b, pool([b], { health: health() }), b)).toBe(true);
    expect(sameChecks(plain, b, v2, b)).toBe(false);
    expect(sameChecks(v2, b, v1, b)).toBe(false);
    expect(sameChecks(v2, b, pool([b], { proxyProtocol: 'v2', health: health({ sendProxy: true }) }), b)).toBe(true);
  });
});
