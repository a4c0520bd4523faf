import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { PolicyFailedError, UpstreamConnectError } from '../../src/errors.js';
import type { Candidate } from '../../src/operators/policies/types.js';
import { PENDING } from '../../src/streams/routing/router.js';
import type { BalancerState } from '../../src/streams/state/backend-state.js';
import type { ConnClosed, ConnEvent } from '../../src/streams/state/events.js';
import { testScheduler } from '../marble/helpers.js';
import { type AnswerPlan, type ConnPlan, type ConnRecord, type ConnectPlan, type CopyPlan, type Run, type Scenario, address, runScenario } from './connection-lifecycle-world.js';

/**
 * A handful of connections on one listener, sharing one state and one router, over
 * random interleavings of policy answers, connect outcomes, clients going, copies
 * ending and a shutdown, in virtual time. Whatever happens:
 *
 * 1. each connection ends with exactly one `conn-closed` (emitted, or handed to `cut`),
 *    last, after its events in the documented order;
 * 2. once all have ended, every `active` count is back to 0, and each backend's `total`
 *    is the number of connections that reached it; while they ran, no count went below
 *    0 and no limit was passed;
 * 3. every subscription to a fake edge has ended, no later than the phase it served;
 * 4. the client is released once, and refused only in set-up, once at most;
 * 5. every pick was answered, forgotten or expired, and the router holds none;
 * 6. the reason agrees with what the fakes did.
 */

const weighted = <T>(...pairs: [T, number][]) => fc.oneof(...pairs.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })));
/** At once (0) about one time in `1 + later`, otherwise 1 to `max` frames later. */
const frames = (max: number, later = 3) => fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 1, max }), weight: later });

const connectPlan: fc.Arbitrary<ConnectPlan> = fc.record({
  kind: weighted<ConnectPlan['kind']>(['connect', 4], ['refuse', 3], ['local', 1], ['bug', 1], ['hang', 1]),
  after: frames(6),
});
const answerPlan: fc.Arbitrary<AnswerPlan> = fc.record({
  kind: weighted<AnswerPlan['kind']>(['pick', 10], ['refuse', 1], ['outside', 1], ['copy', 1], ['error', 1], ['never', 1]),
  // mostly within connect_timeout, sometimes past it
  after: frames(5, 1),
  choice: fc.integer({ min: 0, max: 3 }),
});
const copyPlan: fc.Arbitrary<CopyPlan> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('end' as const), after: frames(12), reason: fc.constantFrom('client_closed' as const, 'backend_closed' as const, 'idle_timeout' as const) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('error' as const), after: frames(12) }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'forever' as const }), weight: 2 },
);
const connPlan: fc.Arbitrary<ConnPlan> = fc.record({
  at: fc.integer({ min: 0, max: 15 }),
  gone: fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: fc.record({ after: frames(20, 6), completes: fc.boolean() }), weight: 1 }),
  // up to one per attempt (a missing one answers or connects at once), so shrinking drops them
  answers: fc.array(answerPlan, { maxLength: 4 }),
  connects: fc.array(connectPlan, { maxLength: 4 }),
  copy: copyPlan,
});
const scenario: fc.Arbitrary<Scenario> = fc.record({
  backends: fc.array(fc.constantFrom(0, 1), { minLength: 1, maxLength: 4 }),
  retries: fc.integer({ min: 0, max: 3 }),
  connectTimeoutMs: fc.integer({ min: 1, max: 8 }),
  listenerMax: fc.integer({ min: 0, max: 3 }),
  cap: fc.oneof({ arbitrary: fc.constant(Infinity), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 1 }),
  onNoBackend: fc.constantFrom('close' as const, 'http-503' as const),
  conns: fc.array(connPlan, { minLength: 1, maxLength: 8 }),
  shutdownAt: fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: fc.integer({ min: 0, max: 40 }), weight: 1 }),
});

const LETTER: Record<ConnEvent['type'], string> = { 'conn-opened': 'o', 'conn-attempt': 'a', 'conn-failed': 'f', 'conn-connected': 'c', 'conn-closed': 'x' };

/** The connection's close, emitted or cut, and when. */
function closing(conn: ConnRecord): { readonly at: number; readonly record: ConnClosed; readonly cut: boolean } {
  const emitted = conn.events.filter((e) => e.event.type === 'conn-closed');
  expect(emitted.length + conn.cut.length, `connection ${conn.index}: closing records`).toBe(1);
  const [first] = emitted;
  if (first) return { at: first.at, record: first.event as ConnClosed, cut: false };
  const [cut] = conn.cut;
  return { at: cut!.at, record: cut!.record, cut: true };
}

/** Whether the listener and the process had room when the connection arrived, worked out afresh. */
function hadRoom(s: Scenario, state: BalancerState): boolean {
  const listener = state.listeners.front;
  return state.active < s.cap && (s.listenerMax === 0 || (listener?.active ?? 0) < s.listenerMax);
}

/** 1, 4, 6 and the subscriptions of 3: one connection, on its own. */
function checkConnection(s: Scenario, run: Run, conn: ConnRecord): void {
  const name = `connection ${conn.index}`;
  if (conn.acceptedAt === undefined) {
    // arrived after the shutdown: never accepted
    expect(conn.events, name).toEqual([]);
    return;
  }
  const accepted = conn.acceptedAt;
  expect(conn.errored, `${name}: errored`).toBeUndefined();
  const close = closing(conn);
  const { record, at: closedAt } = close;
  const events = conn.events.map((e) => e.event);
  const letters = events.map((e) => LETTER[e.type]).join('') + (close.cut ? 'x' : '');

  // 1. The documented order, with one close, last; the observable completes with it, or was cut.
  expect(letters, `${name}: event order`).toMatch(/^o(af)*(ac?)?x$/);
  expect(conn.completedAt, `${name}: completion`).toBe(close.cut ? undefined : closedAt);
  expect(close.cut ? record.reason === 'shutdown' : record.reason !== 'shutdown', `${name}: shutdown only when cut, got ${record.reason}`).toBe(true);
  if (close.cut) expect(closedAt, `${name}: cut`).toBe(s.shutdownAt ?? run.endedAt);
  const attempts = events.filter((e) => e.type === 'conn-attempt');
  attempts.forEach((a, i) => expect(a.attempt, `${name}: attempt numbers`).toBe(i + 1));
  events.forEach((e, i) => {
    if (e.type !== 'conn-failed' && e.type !== 'conn-connected') return;
    const before = events[i - 1];
    expect(before?.type === 'conn-attempt' && before.backend === e.backend && before.attempt === e.attempt, `${name}: ${e.type} names its attempt`).toBe(true);
  });
  const lastAttempt = attempts.at(-1);
  const connected = events.find((e) => e.type === 'conn-connected');
  const lastBeforeClose = events.filter((e) => e.type !== 'conn-closed').at(-1) as ConnEvent;
  expect(record, `${name}: the closing record`).toEqual({
    type: 'conn-closed',
    listener: 'front',
    pool: 'web',
    client: conn.client,
    backend: lastAttempt?.backend,
    ...(lastBeforeClose.type === 'conn-failed' ? { released: true } : {}),
    bytesUp: connected ? 11 : 0,
    bytesDown: connected ? 22 : 0,
    durationMs: closedAt - accepted,
    reason: record.reason,
  });

  // 3. Every subscription to a fake edge has ended, no later than the phase it served.
  for (const w of [...conn.connects, ...conn.watches, ...conn.copies]) expect(w.endedAt, `${name}: ${w.kind} subscribed at ${w.subscribedAt} never ended`).toBeDefined();
  expect(conn.connects.length, `${name}: one connect per attempt`).toBe(attempts.length);
  expect(conn.copies.length, `${name}: one copy once connected`).toBe(connected ? 1 : 0);
  const setUpEnd = connected ? conn.events.find((e) => e.event === connected)!.at : closedAt;
  for (const w of conn.watches) expect(w.endedAt, `${name}: the client watch outlived set-up`).toBeLessThanOrEqual(setUpEnd);

  // 4. The client is released once, when the connection ends, and refused only in set-up.
  expect(conn.released, `${name}: release`).toEqual([closedAt]);
  const admitted = hadRoom(s, conn.stateAtAccept as BalancerState);
  const refusedFor: ConnClosed['reason'][] = ['connect_failed', 'no_backend', 'limit', 'error'];
  const shouldRefuse = admitted && !connected && refusedFor.includes(record.reason);
  expect(conn.refused, `${name}: refuse (${record.reason})`).toEqual(shouldRefuse ? [{ at: closedAt, how: s.onNoBackend }] : []);

  // 6. The reason agrees with what the fakes did.
  if (!admitted) {
    expect([letters, record.reason, conn.watches.length], `${name}: turned away at the door`).toEqual(['ox', 'limit', 0]);
    return;
  }
  expect(conn.watches.length, `${name}: one client watch`).toBe(1);
  attempts.forEach((a, i) => {
    const fake = conn.connects[i]!;
    const outcome = events[events.indexOf(a) + 1];
    const outcomeAt = conn.events[events.indexOf(a) + 1]?.at;
    const delivered = fake.delivered.find((d) => d.what !== 'complete');
    if (delivered?.what === 'next') expect([outcome?.type, outcomeAt], `${name}: attempt ${i + 1} connected`).toEqual(['conn-connected', delivered.at]);
    else if (delivered?.what === 'error') {
      const err = delivered.value;
      const expected = err instanceof UpstreamConnectError ? { reason: err.reason, ...(err.local ? { local: err.local } : {}) } : { reason: 'error' };
      expect(outcome, `${name}: attempt ${i + 1} failed as the connect did`).toEqual({ type: 'conn-failed', listener: 'front', pool: 'web', client: conn.client, backend: a.backend, attempt: a.attempt, ...expected });
      expect(outcomeAt).toBe(delivered.at);
    } else if (outcome !== undefined && outcome.type !== 'conn-closed') {
      // nothing came from the connect: only the deadline fails it
      expect([outcome.type, outcome.type === 'conn-failed' && outcome.reason, outcomeAt], `${name}: attempt ${i + 1} timed out`).toEqual(['conn-failed', 'timeout', conn.events[events.indexOf(a)]!.at + s.connectTimeoutMs]);
    }
  });
  const picks = run.picks.filter((p) => p.conn === conn.index);
  const answerOf = (p: (typeof picks)[number]) => (p.answer === PENDING ? p.late[0] : { at: p.at, answer: p.answer });
  // Each backend a pick answered is attempted at once, unless a late answer named one that
  // can no longer take it: then the policy is asked again at once (or, every backend being
  // full by then, the connection ends with `limit`). Every attempt came from a pick.
  let k = 0;
  picks.forEach((p, i) => {
    const answered = answerOf(p);
    if (answered === undefined || answered.answer === undefined || answered.answer instanceof PolicyFailedError) return;
    const address = (answered.answer as Candidate).address;
    const attempt = attempts[k];
    const attemptAt = attempt && conn.events.find((e) => e.event === attempt)!.at;
    if (attempt?.backend === address && attemptAt === answered.at) k += 1;
    else {
      // asked again, or found every backend full on the way
      const next = picks[i + 1]?.at ?? (record.reason === 'limit' ? closedAt : undefined);
      expect([p.answer === PENDING, next], `${name}: pick ${p.n} answered ${address}, neither attempted nor asked again`).toEqual([true, answered.at]);
    }
  });
  expect(k, `${name}: attempts without a pick`).toBe(attempts.length);
  const lastPick = picks.at(-1);
  const lastAnswer = lastPick && answerOf(lastPick);
  const gone = conn.watches[0]!.delivered.find((d) => d.what === 'next');
  if (gone !== undefined) expect([record.reason, closedAt], `${name}: the client went at ${gone.at}`).toEqual(['client_closed', gone.at]);
  if (connected) {
    const copy = conn.copies[0]!;
    const end = copy.delivered.find((d) => d.what !== 'complete');
    if (!close.cut) expect([record.reason, closedAt], `${name}: the copy ended`).toEqual(end?.what === 'next' ? [(end.value as { reason: string }).reason, end.at] : ['error', end?.at]);
    return;
  }
  const failedBackends = new Set(events.flatMap((e) => (e.type === 'conn-failed' ? [e.backend] : [])));
  switch (record.reason) {
    case 'client_closed':
      expect(gone, `${name}: client_closed, yet the client never went`).toBeDefined();
      break;
    case 'connect_failed': {
      const failed = lastBeforeClose.type === 'conn-failed' ? lastBeforeClose : undefined;
      expect(failed, `${name}: connect_failed without a failed attempt`).toBeDefined();
      const outOfTries = failed!.attempt > s.retries || failed!.local !== undefined || failedBackends.size === s.backends.length;
      expect(outOfTries, `${name}: gave up while it could still try`).toBe(true);
      break;
    }
    case 'no_backend':
      // every backend is up and there is one at least: only the policy can say no
      expect(lastAnswer !== undefined && lastAnswer.answer === undefined && lastAnswer.at === closedAt, `${name}: no_backend, yet the policy did not refuse`).toBe(true);
      break;
    case 'error':
      expect(
        (lastAnswer?.answer instanceof PolicyFailedError && lastAnswer.at === closedAt) || lastPick?.expired[0] === closedAt,
        `${name}: error without the policy failing`,
      ).toBe(true);
      break;
    case 'limit': {
      // not while a pick waited: the connection found every backend it had not tried full
      expect(lastPick === undefined || lastAnswer !== undefined, `${name}: limit while a pick waited`).toBe(true);
      const before = stateBefore(run, record);
      const untried = before.pools.web!.backends.filter((b) => !failedBackends.has(b.address));
      expect(untried.length > 0 && untried.every((b) => b.maxConnections > 0 && b.active >= b.maxConnections), `${name}: limit, yet a backend had room`).toBe(true);
      break;
    }
    case 'shutdown':
      break;
    default:
      throw new Error(`${name}: closed with ${record.reason} before any copy`);
  }
}

/** The state just before a record was folded. */
function stateBefore(run: Run, record: ConnClosed): BalancerState {
  const i = run.states.findIndex((s) => s.event === record);
  return run.states[i - 1]!.state;
}

/** 2 and 5: the state and the router once everything has ended. */
function checkAfterAll(s: Scenario, run: Run): void {
  expect(run.foldError).toBeUndefined();
  const { state } = run;
  const closes = run.conns.flatMap((c) => [...c.events.map((e) => e.event), ...c.cut.map((e) => e.record)]).filter((e) => e.type === 'conn-closed');
  expect(state.active, 'open connections').toBe(0);
  expect(state.listeners.front, 'the listener').toMatchObject({
    active: 0,
    rejected: { limit: closes.filter((c) => c.reason === 'limit').length, no_backend: closes.filter((c) => c.reason === 'no_backend').length },
  });
  const all = run.conns.flatMap((c) => c.events.map((e) => e.event));
  for (const [i] of s.backends.entries()) {
    const b = state.pools.web!.backends.find((x) => x.address === address(i))!;
    const named = (type: ConnEvent['type']) => all.filter((e) => e.type === type && 'backend' in e && e.backend === b.address);
    expect(b.active, `${b.address}: active`).toBe(0);
    expect(b.stats.traffic.front?.active ?? 0, `${b.address}: active through the listener`).toBe(0);
    expect(b.total, `${b.address}: total`).toBe(named('conn-connected').length);
    expect(b.failures, `${b.address}: failures`).toBe(named('conn-failed').filter((e) => e.type === 'conn-failed' && e.local === undefined).length);
  }
  // While it ran, the limits held and no count went below zero. A connection turned away
  // at the door is counted from its opening to its close on the same tick, over the limit.
  const admitted = new Set(run.conns.filter((c) => c.stateAtAccept !== undefined && hadRoom(s, c.stateAtAccept)).map((c) => c.client));
  const open = new Set<string>();
  for (const { event, state: st } of run.states) {
    const where = `after ${event.type} ${'client' in event ? event.client : ''}`;
    if (event.type === 'conn-opened' && admitted.has(event.client)) open.add(event.client);
    if (event.type === 'conn-closed') open.delete(event.client);
    expect(st.active, where).toBeGreaterThanOrEqual(0);
    expect(open.size, `admitted connections open ${where}`).toBeLessThanOrEqual(Math.min(s.cap, s.listenerMax > 0 ? s.listenerMax : Infinity));
    for (const b of st.pools.web?.backends ?? []) {
      expect(b.active, `${b.address} ${where}`).toBeGreaterThanOrEqual(0);
      if (b.maxConnections > 0) expect(b.active, `${b.address} over its max_connections ${where}`).toBeLessThanOrEqual(b.maxConnections);
    }
  }

  // 5. Every pick was answered, forgotten or expired, exactly once; nothing is left waiting.
  for (const p of run.picks) {
    const ends = p.late.length + p.forgotten.length + p.expired.length;
    expect(ends, `connection ${p.conn} pick ${p.n}: ${p.answer === PENDING ? 'pending' : 'answered at once'}, then ${JSON.stringify({ late: p.late.length, forgotten: p.forgotten, expired: p.expired })}`).toBe(
      p.answer === PENDING ? 1 : 0,
    );
  }
  expect(run.heldAtStop, 'picks still waiting when the router stopped').toEqual([]);
  const reports = (kind: string) => run.reports.filter((r) => r.kind === kind).length;
  // late answers to requests whose askers left are nobody's fault; only copies are strangers
  expect(reports('unknown_request'), 'unknown_request reports').toBe(run.copiesAnswered);
  expect(reports('no_answer'), 'no_answer reports').toBe(run.picks.filter((p) => p.expired.length > 0).length);
  expect(state.pools.web!.policyFailures, 'policy failures in the state').toEqual(
    Object.fromEntries(['error', 'stopped', 'not_candidate', 'unknown_request', 'no_answer'].flatMap((k) => (reports(k) > 0 ? [[k, reports(k)]] : []))),
  );
}

describe('connection$ lifecycle', () => {
  it('ends every connection exactly once, gives back every slot and leaves nothing behind, whatever the interleaving', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const rx = testScheduler();
        rx.run(() => {
          const run = runScenario(rx, s);
          for (const conn of run.conns) checkConnection(s, run, conn);
          checkAfterAll(s, run);
        });
      }),
      { numRuns: 400 },
    );
  });
});
