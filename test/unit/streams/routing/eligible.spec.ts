import { describe, expect, it } from 'vitest';
import { eligible } from '../../../../src/streams/routing/eligible.js';
import type { BackendState, BackendStatus } from '../../../../src/streams/state/backend-state.js';

function b(address: string, status: BackendStatus, extra: Partial<BackendState> = {}): BackendState {
  return {
    address,
    host: address.split(':')[0] ?? '',
    port: 80,
    weight: 1,
    maxConnections: 0,
    backup: false,
    index: 0,
    status,
    health: status === 'down' ? 'down' : 'up',
    ejected: false,
    admin: 'none',
    removed: false,
    active: 0,
    total: 0,
    failures: 0,
    consecutiveFailures: 0,
    stats: { traffic: {}, connectFailures: { refused: 0, timeout: 0, error: 0 }, checks: { pass: 0, fail: 0 } },
    ...extra,
  };
}

const addresses = (r: ReturnType<typeof eligible>) => (r.ok ? { candidates: r.candidates.map((c) => c.address), up: r.up.map((c) => c.address) } : r.reason);
const none = new Set<string>();

describe('eligible', () => {
  it('offers the up primaries and never a backup while one is up', () => {
    const backends = [b('p1:80', 'up'), b('p2:80', 'down'), b('k1:80', 'up', { backup: true })];
    expect(addresses(eligible(backends, none))).toEqual({ candidates: ['p1:80'], up: ['p1:80'] });
  });

  it('does not spill a retry over to a backup while a primary is up', () => {
    const backends = [b('p1:80', 'up'), b('k1:80', 'up', { backup: true })];
    expect(addresses(eligible(backends, new Set(['p1:80'])))).toBe('no_backend');
  });

  it('offers the up backups once no primary is up, whatever the reason', () => {
    for (const status of ['down', 'draining', 'disabled'] as const) {
      const backends = [b('p1:80', status), b('p2:80', 'down', { ejected: true, health: 'up' }), b('k1:80', 'up', { backup: true }), b('k2:80', 'down', { backup: true })];
      expect(addresses(eligible(backends, none))).toEqual({ candidates: ['k1:80'], up: ['k1:80'] });
    }
  });

  it('says no_backend when nothing is up, and limit when everything up is full', () => {
    expect(eligible([b('p1:80', 'down'), b('k1:80', 'down', { backup: true })], none)).toEqual({ ok: false, reason: 'no_backend' });
    expect(eligible([b('p1:80', 'up', { maxConnections: 1, active: 1 }), b('k1:80', 'up', { backup: true })], none)).toEqual({ ok: false, reason: 'limit' });
  });
});
