import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionMap } from '../../../../src/streams/udp/session-map.js';

describe('SessionMap', () => {
  it('never changes a map it was derived from', () => {
    const empty = SessionMap.empty<number>();
    const one = empty.set('10.0.0.1:1', 1);
    const two = one.set('10.0.0.2:2', 2);
    const changed = two.set('10.0.0.1:1', 11);
    const gone = changed.delete('10.0.0.2:2');
    expect([empty.size, one.size, two.size, changed.size, gone.size]).toEqual([0, 1, 2, 2, 1]);
    expect([one.get('10.0.0.1:1'), two.get('10.0.0.1:1'), changed.get('10.0.0.1:1'), gone.get('10.0.0.1:1')]).toEqual([1, 1, 11, 11]);
    expect([two.has('10.0.0.2:2'), gone.has('10.0.0.2:2')]).toEqual([true, false]);
    expect(gone.delete('nobody')).toBe(gone);
    expect(gone.setMany([])).toBe(gone);
  });

  it('behaves as a Map under any sequence of sets and deletes', () => {
    const key = fc.integer({ min: 0, max: 300 }).map((n) => `10.0.${n % 7}.1:${n}`);
    const op = fc.oneof(
      fc.record({ set: key, value: fc.integer() }),
      fc.record({ delete: key }),
      fc.record({ many: fc.array(fc.tuple(key, fc.integer()), { maxLength: 20 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const model = new Map<string, number>();
        let map = SessionMap.empty<number>();
        for (const o of ops) {
          if ('set' in o) {
            model.set(o.set, o.value);
            map = map.set(o.set, o.value);
          } else if ('delete' in o) {
            model.delete(o.delete);
            map = map.delete(o.delete);
          } else {
            for (const [k, v] of o.many) model.set(k, v);
            map = map.setMany(o.many);
          }
        }
        expect(map.size).toBe(model.size);
        expect([...map.values()].sort((a, b) => a - b)).toEqual([...model.values()].sort((a, b) => a - b));
        for (const [k, v] of model) expect(map.get(k)).toBe(v);
      }),
      { seed: 6, numRuns: 200 },
    );
  });
});
