import { describe, expect, it } from 'vitest';
import { closeConnection, openConnection, type ClientCounts } from '../../../../src/streams/door/client-counts.js';
import { admitConnection, rateState, type RateState } from '../../../../src/streams/door/rate.js';

/** The answers for `client` at each time, in order, from one state. */
function answers(state: RateState, attempts: readonly (readonly [string, number])[]): boolean[] {
  return attempts.map(([client, now]) => admitConnection(state, client, now).allowed);
}

describe('admitConnection', () => {
  it('lets a client open count connections at once, then one each perMs / count', () => {
    const state = rateState({ count: 3, perMs: 1_000 });
    const at = (now: number): [string, number] => ['10.0.0.1', now];
    expect(answers(state, [at(0), at(0), at(0), at(0), at(333), at(334), at(334), at(667), at(1_000), at(1_001)])).toEqual([
      true,
      true,
      true,
      false,
      false, // 333 ms refill 999 thousandths of a connection
      true,
      false,
      true,
      true, // 333 ms more: a whole one again
      false,
    ]);
  });

  it('keeps each client to its own bucket', () => {
    const state = rateState({ count: 1, perMs: 60_000 });
    expect(answers(state, [['a', 0], ['b', 0], ['a', 1], ['b', 59_999], ['a', 60_000], ['b', 60_000]])).toEqual([true, true, false, false, true, true]);
  });

  it('refills a bucket no fuller than count', () => {
    const state = rateState({ count: 2, perMs: 1_000 });
    expect(answers(state, [['a', 0], ['a', 500], ['a', 100_000], ['a', 100_000], ['a', 100_000]])).toEqual([true, true, true, true, false]);
  });

  it('forgets clients idle for a whole window, so memory follows the busy ones', () => {
    const state = rateState({ count: 5, perMs: 1_000 });
    admitConnection(state, 'a', 0);
    admitConnection(state, 'b', 400);
    admitConnection(state, 'c', 900);
    expect([...state.buckets.keys()]).toEqual(['a', 'b', 'c']);
    admitConnection(state, 'c', 1_400);
    expect([...state.buckets.keys()]).toEqual(['c']);
    admitConnection(state, 'a', 1_401);
    expect([...state.buckets.keys()]).toEqual(['c', 'a']);
  });

  it('past maxClients, forgets the client seen longest ago, which then starts over with a full bucket', () => {
    const state = rateState({ count: 1, perMs: 60_000 }, 2);
    expect(answers(state, [['a', 0], ['b', 1], ['a', 2]])).toEqual([true, true, false]);
    // a was seen after b, so b goes
    expect(answers(state, [['c', 3]])).toEqual([true]);
    expect([...state.buckets.keys()]).toEqual(['a', 'c']);
    expect(answers(state, [['b', 4]])).toEqual([true]);
    expect([...state.buckets.keys()]).toEqual(['c', 'b']);
    expect(state.buckets.size).toBe(2);
  });

  it('takes a clock that goes back as no time passing', () => {
    const state = rateState({ count: 1, perMs: 1_000 });
    expect(answers(state, [['a', 5_000], ['a', 1_000], ['a', 5_999], ['a', 6_000]])).toEqual([true, false, false, true]);
  });

  it('hands back the state it was given', () => {
    const state = rateState({ count: 1, perMs: 1_000 });
    expect(admitConnection(state, 'a', 0).state).toBe(state);
  });
});

describe('openConnection and closeConnection', () => {
  it('count open connections per client, up to max, and forget a client with none open', () => {
    const counts: ClientCounts = new Map();
    expect([openConnection(counts, 'a', 2).allowed, openConnection(counts, 'a', 2).allowed, openConnection(counts, 'a', 2).allowed, openConnection(counts, 'b', 2).allowed]).toEqual([true, true, false, true]);
    expect([...counts]).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    closeConnection(counts, 'a');
    expect(openConnection(counts, 'a', 2).allowed).toBe(true);
    closeConnection(counts, 'a');
    closeConnection(counts, 'a');
    closeConnection(counts, 'b');
    expect([...counts]).toEqual([]);
  });

  it('counts without limit when max is 0, and ignores closing a client never counted', () => {
    const counts: ClientCounts = new Map();
    for (let i = 0; i < 1_000; i += 1) expect(openConnection(counts, 'a', 0).allowed).toBe(true);
    expect(counts.get('a')).toBe(1_000);
    expect(closeConnection(counts, 'nobody')).toBe(counts);
    expect(counts.size).toBe(1);
  });
});
