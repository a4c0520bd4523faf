import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { admitConnection, rateState } from '../../src/streams/door/rate.js';

/**
 * The per-client rate limiter over random arrivals: no client gets more than its bucket
 * allows over any span, a client that keeps to the rate is never refused, whoever else
 * comes, and memory stays within the cap and the window.
 */

const rate = fc.record({ count: fc.integer({ min: 1, max: 10 }), perMs: fc.constantFrom(7, 1_000, 60_000) });
const arrivals = (clients: number) =>
  fc.array(fc.tuple(fc.integer({ min: 0, max: clients - 1 }), fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 70_000 }))), { minLength: 1, maxLength: 80 });

describe('admitConnection', () => {
  it('never lets a client open more than count + span * count / perMs over any span', () => {
    fc.assert(
      fc.property(rate, arrivals(4), fc.integer({ min: 1, max: 6 }), (r, steps, maxClients) => {
        const state = rateState(r, maxClients);
        let now = 0;
        const allowed = new Map<number, number[]>();
        for (const [client, dt] of steps) {
          now += dt;
          if (admitConnection(state, `c${client}`, now).allowed) allowed.set(client, [...(allowed.get(client) ?? []), now]);
        }
        // with room for every client, none is ever forgotten early
        if (maxClients < 4) return;
        for (const times of allowed.values()) {
          for (let i = 0; i < times.length; i += 1) {
            for (let j = i; j < times.length; j += 1) {
              const span = (times[j] ?? 0) - (times[i] ?? 0);
              expect(j - i + 1).toBeLessThanOrEqual(r.count + Math.floor((span * r.count) / r.perMs));
            }
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never refuses a client that keeps to the rate, however busy the others', () => {
    fc.assert(
      fc.property(rate, arrivals(5), fc.integer({ min: 0, max: 3 }), (r, others, slack) => {
        const state = rateState(r, 8);
        const gap = Math.ceil(r.perMs / r.count) + slack;
        let now = 0;
        let next = 0;
        for (const [client, dt] of others) {
          // the polite client's turns that fall before this arrival (a few hundred at most)
          now = Math.min(now + dt, next + 300 * gap);
          while (next <= now) {
            expect(admitConnection(state, 'polite', next).allowed, `at ${next}`).toBe(true);
            next += gap;
          }
          admitConnection(state, `c${client}`, now);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('remembers at most maxClients clients, none idle for a whole window', () => {
    fc.assert(
      fc.property(rate, arrivals(40), fc.integer({ min: 1, max: 10 }), (r, steps, maxClients) => {
        const state = rateState(r, maxClients);
        let now = 0;
        for (const [client, dt] of steps) {
          now += dt;
          admitConnection(state, `c${client}`, now);
          expect(state.buckets.size).toBeLessThanOrEqual(maxClients);
          for (const bucket of state.buckets.values()) expect(bucket.at).toBeGreaterThan(now - r.perMs);
        }
      }),
      { numRuns: 300 },
    );
  });
});
