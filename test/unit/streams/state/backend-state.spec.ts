import { describe, expect, it } from 'vitest';
import type { StateEvent } from '../../../../src/streams/state/events.js';
import { type BalancerState, initialState, reduceBackendState } from '../../../../src/streams/state/backend-state.js';
import { backend, config, listener, pool } from '../../../marble/fixtures.js';

const cfg = config([pool([backend('10.0.0.1:80'), backend('10.0.0.2:80', { weight: 3, backup: true })])]);
const tag = { listener: 'front', pool: 'web', client: '1.2.3.4:5' };
const fold = (events: readonly StateEvent[], from: BalancerState = initialState) => events.reduce(reduceBackendState, from);
const counts = (s: BalancerState) =>
  s.pools.web?.backends.map((b) => [b.address, b.status, b.active, b.total, b.failures, b.consecutiveFailures]);

const noStats = { traffic: {}, connectFailures: { refused: 0, timeout: 0, error: 0 }, checks: { pass: 0, fail: 0 } };

describe('reduceBackendState', () => {
  it('builds pools and listeners from a config, every backend up with zero counts', () => {
    const s = fold([{ type: 'config', config: cfg }]);
    expect(s.config).toBe(cfg);
    expect(s.active).toBe(0);
    expect(s.listeners.front?.active).toBe(0);
    expect(s.pools.web?.backends).toEqual([
      { address: '10.0.0.1:80', host: '10.0.0.1', port: 80, weight: 1, maxConnections: 0, backup: false, index: 0, status: 'up', health: 'up', ejected: false, admin: 'none', removed: false, active: 0, total: 0, failures: 0, consecutiveFailures: 0, stats: noStats },
      { address: '10.0.0.2:80', host: '10.0.0.2', port: 80, weight: 3, maxConnections: 0, backup: true, index: 1, status: 'up', health: 'up', ejected: false, admin: 'none', removed: false, active: 0, total: 0, failures: 0, consecutiveFailures: 0, stats: noStats },
    ]);
  });

  it('counts a connection through failure, retry, transfer and close', () => {
    const steps: StateEvent[] = [
      { type: 'config', config: cfg },
      { type: 'conn-opened', ...tag },
      { type: 'conn-attempt', ...tag, backend: '10.0.0.1:80', attempt: 1 },
      { type: 'conn-failed', ...tag, backend: '10.0.0.1:80', attempt: 1, reason: 'refused' },
      { type: 'conn-attempt', ...tag, backend: '10.0.0.2:80', attempt: 2 },
      { type: 'conn-connected', ...tag, backend: '10.0.0.2:80', attempt: 2 },
    ];
    const during = fold(steps);
    expect(during.active).toBe(1);
    expect(during.listeners.front?.active).toBe(1);
    expect(counts(during)).toEqual([
      ['10.0.0.1:80', 'up', 0, 0, 1, 1],
      ['10.0.0.2:80', 'up', 1, 1, 0, 0],
    ]);
    const after = fold([{ type: 'conn-closed', ...tag, backend: '10.0.0.2:80', bytesUp: 1, bytesDown: 2, durationMs: 3, reason: 'client_closed' }], during);
    expect(after.active).toBe(0);
    expect(after.listeners.front?.active).toBe(0);
    expect(counts(after)).toEqual([
      ['10.0.0.1:80', 'up', 0, 0, 1, 1],
      ['10.0.0.2:80', 'up', 0, 1, 0, 0],
    ]);
  });

  it('resets consecutive failures on a success', () => {
    const s = fold([
      { type: 'config', config: cfg },
      { type: 'conn-attempt', ...tag, backend: '10.0.0.1:80', attempt: 1 },
      { type: 'conn-failed', ...tag, backend: '10.0.0.1:80', attempt: 1, reason: 'timeout' },
      { type: 'conn-attempt', ...tag, backend: '10.0.0.1:80', attempt: 1 },
      { type: 'conn-connected', ...tag, backend: '10.0.0.1:80', attempt: 1 },
    ]);
    expect(counts(s)?.[0]).toEqual(['10.0.0.1:80', 'up', 1, 1, 1, 0]);
  });

  it('keeps the counters of backends that stay across a new config, and drops the rest', () => {
    const before = fold([
      { type: 'config', config: cfg },
      { type: 'conn-opened', ...tag },
      { type: 'conn-attempt', ...tag, backend: '10.0.0.2:80', attempt: 1 },
      { type: 'conn-connected', ...tag, backend: '10.0.0.2:80', attempt: 1 },
    ]);
    const next = config([pool([backend('10.0.0.2:80'), backend('10.0.0.3:80')])]);
    const s = fold([{ type: 'config', config: next }], before);
    expect(s.active).toBe(1);
    expect(s.listeners.front?.active).toBe(1);
    expect(counts(s)).toEqual([
      ['10.0.0.2:80', 'up', 1, 1, 0, 0],
      ['10.0.0.3:80', 'up', 0, 0, 0, 0],
    ]);
  });

  it('ignores events for pools and backends it does not know, returning the same state', () => {
    const s = fold([{ type: 'config', config: cfg }]);
    expect(reduceBackendState(s, { type: 'conn-attempt', ...tag, pool: 'nope', backend: 'x', attempt: 1 })).toBe(s);
    expect(reduceBackendState(s, { type: 'conn-attempt', ...tag, backend: '9.9.9.9:1', attempt: 1 })).toBe(s);
  });

  it('never mutates the state it is given', () => {
    const s = Object.freeze(fold([{ type: 'config', config: cfg }]));
    const copy = JSON.stringify(s);
    fold([{ type: 'conn-opened', ...tag }, { type: 'conn-attempt', ...tag, backend: '10.0.0.1:80', attempt: 1 }], s);
    expect(JSON.stringify(s)).toBe(copy);
  });

  it('counts traffic per listener through each backend, rejections per listener, and connect failures by reason', () => {
    const s = fold([
      { type: 'config', config: cfg },
      { type: 'conn-opened', ...tag },
      { type: 'conn-attempt', ...tag, backend: '10.0.0.1:80', attempt: 1 },
      { type: 'conn-failed', ...tag, backend: '10.0.0.1:80', attempt: 1, reason: 'timeout' },
      { type: 'conn-attempt', ...tag, backend: '10.0.0.1:80', attempt: 2 },
      { type: 'conn-connected', ...tag, backend: '10.0.0.1:80', attempt: 2 },
      { type: 'conn-closed', ...tag, backend: '10.0.0.1:80', bytesUp: 100, bytesDown: 2000, durationMs: 5, reason: 'client_closed' },
      { type: 'conn-opened', ...tag },
      { type: 'conn-closed', ...tag, backend: undefined, bytesUp: 0, bytesDown: 0, durationMs: 0, reason: 'no_backend' },
      { type: 'checked', pool: 'web', backend: '10.0.0.1:80', pass: true },
      { type: 'checked', pool: 'web', backend: '10.0.0.1:80', pass: false },
      { type: 'accept-error', listener: cfg.listeners[0]!, error: new Error('EMFILE') },
    ]);
    expect(s.pools.web?.backends[0]?.stats).toEqual({
      traffic: { front: { protocol: 'tcp', active: 0, total: 1, bytesUp: 100, bytesDown: 2000, datagramsUp: 0, datagramsDown: 0 } },
      connectFailures: { refused: 0, timeout: 1, error: 0 },
      checks: { pass: 1, fail: 1 },
    });
    expect(s.listeners.front).toMatchObject({ active: 0, rejected: { no_backend: 1, limit: 0, denied: 0 }, acceptErrors: 1 });
  });

  it('keeps what an operator set across a reload, and counts reloads', () => {
    const drained = fold([
      { type: 'config', config: cfg },
      { type: 'admin', pool: 'web', backend: '10.0.0.1:80', action: 'disable' },
    ]);
    expect(counts(drained)?.[0]?.[1]).toBe('disabled');
    const reloaded = fold([{ type: 'config', config: cfg }, { type: 'reload-failed', errors: ['x'] }], drained);
    expect(counts(reloaded)?.[0]?.[1]).toBe('disabled');
    expect(reloaded.reloads).toEqual({ success: 1, failure: 1 });
    expect(counts(fold([{ type: 'admin', pool: 'web', backend: '10.0.0.1:80', action: 'enable' }], reloaded))?.[0]?.[1]).toBe('up');
  });

  it('gives the slot back but does not blame the backend for a failure of rxlb’s own', () => {
    const s = fold([
      { type: 'config', config: cfg },
      { type: 'conn-attempt', ...tag, backend: '10.0.0.1:80', attempt: 1 },
      { type: 'conn-failed', ...tag, backend: '10.0.0.1:80', attempt: 1, reason: 'error', local: 'EMFILE' },
    ]);
    expect(counts(s)?.[0]).toEqual(['10.0.0.1:80', 'up', 0, 0, 0, 0]);
    expect(s.pools.web?.backends[0]?.stats.connectFailures).toEqual({ refused: 0, timeout: 0, error: 0 });
  });

  it('keeps listeners and pools in config order through connection events (what /status lists)', () => {
    const two = config([pool([backend('10.0.0.1:80')]), pool([backend('10.0.1.1:80')], { name: 'api' })], [listener(), listener({ name: 'second', pool: 'api' })]);
    const s = fold([
      { type: 'config', config: two },
      { type: 'conn-opened', listener: 'front', client: '1.2.3.4:5' },
      { type: 'conn-attempt', listener: 'front', pool: 'web', client: '1.2.3.4:5', backend: '10.0.0.1:80', attempt: 1 },
    ]);
    expect(Object.keys(s.listeners)).toEqual(['front', 'second']);
    expect(Object.keys(s.pools)).toEqual(['web', 'api']);
  });
});
