import { describe, expect, it } from 'vitest';
import type { Config, HealthConfig, PassiveConfig } from '../../../../src/config/types.js';
import type { StateEvent } from '../../../../src/streams/state/events.js';
import { type BalancerState, deriveStatus, initialState, reduceBackendState } from '../../../../src/streams/state/backend-state.js';
import { statusChanges } from '../../../../src/streams/state/status-changes.js';
import { backend, config, pool } from '../../../marble/fixtures.js';

const A = '10.0.0.1:80';
const B = '10.0.0.2:80';
const HEALTH: HealthConfig = { kind: 'tcp', port: undefined, path: '/', expectStatus: [[200, 299]], intervalMs: 10, timeoutMs: 5, rise: 2, fall: 3, sendProxy: false };
const PASSIVE: PassiveConfig = { consecutiveFailures: 3, ejectForMs: 10 };

function cfg(addresses: readonly string[], extra: { health?: HealthConfig; passive?: PassiveConfig } = { health: HEALTH, passive: PASSIVE }): Config {
  return config([pool(addresses.map((a) => backend(a)), extra)]);
}

const fold = (events: readonly StateEvent[], from: BalancerState = initialState) => events.reduce(reduceBackendState, from);
const view = (s: BalancerState) => s.pools.web?.backends.map((b) => `${b.address} ${b.status} health=${b.health} ejected=${b.ejected}`);
const health = (backendAddress: string, up: boolean): StateEvent => ({ type: 'health', pool: 'web', backend: backendAddress, up, detail: up ? 'status 200' : 'status 500' });
const ejected = (backendAddress: string): StateEvent => ({ type: 'ejected', pool: 'web', backend: backendAddress, forMs: 10_000, count: 1, failures: 3 });
const restored = (backendAddress: string): StateEvent => ({ type: 'restored', pool: 'web', backend: backendAddress });

describe('reduceBackendState: health and ejection', () => {
  it('starts every backend up, healthy and not ejected', () => {
    expect(view(fold([{ type: 'config', config: cfg([A, B]) }]))).toEqual([`${A} up health=up ejected=false`, `${B} up health=up ejected=false`]);
  });

  it('derives the status: down while checks say down or passive checks hold it out', () => {
    expect(deriveStatus({ health: 'up', ejected: false, admin: 'none', removed: false })).toBe('up');
    expect(deriveStatus({ health: 'down', ejected: false, admin: 'none', removed: false })).toBe('down');
    expect(deriveStatus({ health: 'up', ejected: true, admin: 'none', removed: false })).toBe('down');
    expect(deriveStatus({ health: 'down', ejected: true, admin: 'none', removed: false })).toBe('down');
    // What an operator says, and leaving the config, win over the checks.
    expect(deriveStatus({ health: 'down', ejected: true, admin: 'disabled', removed: false })).toBe('disabled');
    expect(deriveStatus({ health: 'up', ejected: false, admin: 'draining', removed: false })).toBe('draining');
    expect(deriveStatus({ health: 'up', ejected: false, admin: 'disabled', removed: true })).toBe('draining');
    const s = fold([{ type: 'config', config: cfg([A, B]) }, health(A, false), ejected(B)]);
    expect(view(s)).toEqual([`${A} down health=down ejected=false`, `${B} down health=up ejected=true`]);
  });

  it('keeps a backend down that active checks pass while it is ejected, until restored', () => {
    const s = fold([{ type: 'config', config: cfg([A, B]) }, ejected(A), health(A, false), health(A, true)]);
    expect(view(s)?.[0]).toBe(`${A} down health=up ejected=true`);
    expect(view(fold([restored(A)], s))?.[0]).toBe(`${A} up health=up ejected=false`);
  });

  it('returns the same state for an event that changes nothing or names an unknown backend', () => {
    const s = fold([{ type: 'config', config: cfg([A, B]) }]);
    expect(reduceBackendState(s, health(A, true))).toBe(s);
    expect(reduceBackendState(s, restored(A))).toBe(s);
    expect(reduceBackendState(s, health('10.9.9.9:1', false))).toBe(s);
    expect(reduceBackendState(s, { type: 'health', pool: 'nope', backend: A, up: false, detail: '' })).toBe(s);
  });

  it('across a new config, keeps what the checks found for backends checked the same way', () => {
    const s = fold([{ type: 'config', config: cfg([A, B]) }, health(A, false), ejected(B)]);
    const same = fold([{ type: 'config', config: cfg([A, B, '10.0.0.3:80']) }], s);
    expect(view(same)).toEqual([`${A} down health=down ejected=false`, `${B} down health=up ejected=true`, '10.0.0.3:80 up health=up ejected=false']);
  });

  it('starts a backend over as up when its checks change or go, and ends ejections when [passive] goes', () => {
    const s = fold([{ type: 'config', config: cfg([A, B]) }, health(A, false), ejected(B)]);
    const changed = fold([{ type: 'config', config: cfg([A, B], { health: { ...HEALTH, fall: 5 }, passive: PASSIVE }) }], s);
    expect(view(changed)).toEqual([`${A} up health=up ejected=false`, `${B} down health=up ejected=true`]);
    const none = fold([{ type: 'config', config: cfg([A, B], {}) }], s);
    expect(view(none)).toEqual([`${A} up health=up ejected=false`, `${B} up health=up ejected=false`]);
  });

  it('keeps nothing of a backend that leaves and comes back', () => {
    const s = fold([{ type: 'config', config: cfg([A, B]) }, health(A, false), ejected(A), { type: 'config', config: cfg([B]) }, { type: 'config', config: cfg([A, B]) }]);
    expect(view(s)?.[0]).toBe(`${A} up health=up ejected=false`);
  });
});

describe('statusChanges', () => {
  const start = fold([{ type: 'config', config: cfg([A, B]) }]);
  const step = (before: BalancerState, event: StateEvent) => statusChanges(before, reduceBackendState(before, event), event);

  it('reports a status change with the cause its event stands for', () => {
    expect(step(start, health(A, false))).toEqual([{ type: 'backend-state', pool: 'web', backend: A, from: 'up', to: 'down', cause: 'health', detail: 'status 500' }]);
    expect(step(start, ejected(B))).toEqual([
      { type: 'backend-state', pool: 'web', backend: B, from: 'up', to: 'down', cause: 'passive', detail: 'ejected for 10s after 3 connect failures in a row' },
    ]);
    expect(step(start, { type: 'ejected', pool: 'web', backend: B, forMs: 10_000, count: 1, failures: 1 })[0]?.detail).toBe('ejected for 10s after 1 connect failure in a row');
    const out = fold([ejected(B)], start);
    expect(step(out, restored(B))).toEqual([{ type: 'backend-state', pool: 'web', backend: B, from: 'down', to: 'up', cause: 'passive', detail: 'ejection over' }]);
  });

  it('reports nothing when the status stays, nor for connection events or new backends', () => {
    const out = fold([ejected(A)], start);
    expect(step(out, health(A, false))).toEqual([]);
    expect(step(start, { type: 'conn-opened', listener: 'front', client: '1.2.3.4:5' })).toEqual([]);
    expect(step(start, { type: 'config', config: cfg([A, B, '10.0.0.3:80']) })).toEqual([]);
    expect(step(initialState, { type: 'config', config: cfg([A, B]) })).toEqual([]);
  });

  it('reports a backend a new config brings back up, as a reload', () => {
    const down = fold([health(A, false)], start);
    expect(step(down, { type: 'config', config: cfg([A, B], {}) })).toEqual([
      { type: 'backend-state', pool: 'web', backend: A, from: 'down', to: 'up', cause: 'reload', detail: 'config changed' },
    ]);
  });
});
