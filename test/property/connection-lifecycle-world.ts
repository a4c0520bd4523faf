import { EMPTY, NEVER, Observable, type Subscription, Subject, concat, map, mergeMap, of, throwError, timer } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import type { OnNoBackend } from '../../src/config/types.js';
import { UpstreamConnectError } from '../../src/errors.js';
import type { Candidate, Policy, RouteRequest, Routed } from '../../src/operators/policies/types.js';
import type { Accepted, ConnectionIo, SpliceEnd } from '../../src/streams/ports.js';
import { type Answer, PENDING, type PolicyFailure, type Router, createRouter } from '../../src/streams/routing/router.js';
import { type BalancerState, initialState } from '../../src/streams/state/backend-state.js';
import type { ConnClosed, ConnEvent, StateEvent } from '../../src/streams/state/events.js';
import { foldState } from '../../src/streams/state/fold.js';
import { type ConnectionContext, connection$ } from '../../src/streams/tcp/connection.js';
import { type FakeSocket, backend, config, listener, pool } from '../marble/fixtures.js';

/**
 * One listener, one pool and one router shared by a handful of connections, with every
 * edge scripted and watched, run in virtual time: what `connection-lifecycle.spec.ts`
 * draws at random and then judges.
 */

/** How one connect attempt goes; `after` 0 answers while it is subscribed. */
export interface ConnectPlan {
  readonly kind: 'connect' | 'refuse' | 'local' | 'bug' | 'hang';
  readonly after: number;
}

/** How the policy answers one pick; `after` 0 answers while it is asked. */
export interface AnswerPlan {
  /** A candidate, no backend, a backend outside the candidates, a copy of the request, a failure, or nothing ever. */
  readonly kind: 'pick' | 'refuse' | 'outside' | 'copy' | 'error' | 'never';
  readonly after: number;
  /** Which candidate, modulo their number. */
  readonly choice: number;
}

/** How the copy goes once connected; `after` 0 ends it while it is subscribed. */
export type CopyPlan = { readonly kind: 'end'; readonly after: number; readonly reason: SpliceEnd['reason'] } | { readonly kind: 'error'; readonly after: number } | { readonly kind: 'forever' };

/** When the client goes, counted from its watch; `after` 0 is a client already gone when watched. */
export interface GonePlan {
  readonly after: number;
  /** Whether the watch completes after it emits (the port promises only the emission). */
  readonly completes: boolean;
}

export interface ConnPlan {
  readonly at: number;
  readonly gone: GonePlan | undefined;
  /** One per pick, in order; past the end, the first candidate at once. */
  readonly answers: readonly AnswerPlan[];
  /** One per attempt, in order; past the end, connected at once. */
  readonly connects: readonly ConnectPlan[];
  readonly copy: CopyPlan;
}

export interface Scenario {
  /** Per backend, its max_connections (0 or 1). */
  readonly backends: readonly number[];
  readonly retries: number;
  readonly connectTimeoutMs: number;
  readonly listenerMax: number;
  /** The descriptor cap; Infinity for none. */
  readonly cap: number;
  readonly onNoBackend: OnNoBackend;
  readonly conns: readonly ConnPlan[];
  /** When the connections still open are cut; they are all cut once everything else has run anyway. */
  readonly shutdownAt: number | undefined;
}

const AT_ONCE: AnswerPlan = { kind: 'pick', after: 0, choice: 0 };
const CONNECTED: ConnectPlan = { kind: 'connect', after: 0 };

export const address = (i: number): string => `10.0.0.${i + 1}:80`;
/** A backend that is in no pool: what a policy answering outside the candidates picks. */
export const STRANGER: Candidate = { address: '10.0.9.9:80', weight: 1, active: 0, index: 9 };

/** One subscription a connection made to a fake edge, and when it ended (its teardown ran). */
export interface Watched {
  readonly kind: 'connect$' | 'clientGone$' | 'splice$';
  readonly conn: number;
  readonly subscribedAt: number;
  endedAt: number | undefined;
  /** What the fake delivered, while the subscription was open. */
  readonly delivered: { readonly at: number; readonly what: 'next' | 'error' | 'complete'; readonly value: unknown }[];
}

/** One pick a connection asked the router for, and what became of it. */
export interface PickRecord {
  readonly conn: number;
  /** 0 for the connection's first pick. */
  readonly n: number;
  readonly at: number;
  readonly request: RouteRequest;
  /** Returned by `pick` itself: an answer, or PENDING. */
  answer: Answer | typeof PENDING;
  readonly late: { readonly at: number; readonly answer: Answer }[];
  readonly forgotten: number[];
  readonly expired: number[];
}

export interface ConnRecord {
  readonly index: number;
  readonly plan: ConnPlan;
  readonly client: string;
  acceptedAt: number | undefined;
  /** The state the connection read when it arrived. */
  stateAtAccept: BalancerState | undefined;
  readonly events: { readonly at: number; readonly event: ConnEvent }[];
  readonly cut: { readonly at: number; readonly record: ConnClosed }[];
  completedAt: number | undefined;
  errored: unknown;
  readonly refused: { readonly at: number; readonly how: OnNoBackend }[];
  readonly released: number[];
  readonly connects: Watched[];
  readonly watches: Watched[];
  readonly copies: Watched[];
  subscription: Subscription | undefined;
}

export interface Run {
  readonly conns: ConnRecord[];
  readonly picks: PickRecord[];
  readonly reports: PolicyFailure[];
  /** Answers the policy gave with a copy of the request (each one is a stranger to the router). */
  copiesAnswered: number;
  /** The state after each fold, in order, with the event folded. */
  readonly states: { readonly event: StateEvent; readonly state: BalancerState }[];
  /** Picks the router still held when it was stopped after the run. */
  readonly heldAtStop: PickRecord[];
  state: BalancerState;
  foldError: unknown;
  /** When the connections still open at the end were cut. */
  endedAt: number;
}

const socketOf = (index: number): FakeSocket => ({ id: `client-${index}` });
const upstreamOf = (conn: number, attempt: number): FakeSocket => ({ id: `up-${conn}-${attempt}` });

/** Emits `value` after `after` frames, or while subscribed for 0. */
const after = <T>(frames: number, value: T): Observable<T> => (frames === 0 ? of(value) : timer(frames).pipe(map(() => value)));
const failAfter = (frames: number, error: () => unknown): Observable<never> => (frames === 0 ? throwError(error) : timer(frames).pipe(mergeMap(() => throwError(error))));

/** Runs one scenario to its end inside `rx.run`, and returns everything seen. */
export function runScenario(rx: TestScheduler, scenario: Scenario): Run {
  const cfg = config(
    [pool(scenario.backends.map((max, i) => backend(address(i), { maxConnections: max })), { retries: scenario.retries, connectTimeoutMs: scenario.connectTimeoutMs, onNoBackend: scenario.onNoBackend })],
    [listener({ maxConnections: scenario.listenerMax })],
  );
  const run: Run = { conns: [], picks: [], reports: [], copiesAnswered: 0, states: [], heldAtStop: [], state: initialState, foldError: undefined, endedAt: 0 };
  const { conns, picks } = run;
  const pickOf = new Map<RouteRequest, PickRecord>();
  const now = (): number => rx.now();

  // The state, folded as the balancer folds it, and read back by the next connection.
  // `foldState` folds in the order events arrive, so the step it emits is the first one waiting.
  const events = new Subject<StateEvent>();
  const unfolded: StateEvent[] = [];
  events.pipe(foldState()).subscribe({
    next: (step) => {
      run.state = step.state;
      run.states.push({ event: unfolded.shift() as StateEvent, state: step.state });
    },
    error: (err: unknown) => (run.foldError = err),
  });
  const fold = (event: StateEvent): void => {
    unfolded.push(event);
    events.next(event);
  };
  fold({ type: 'config', config: cfg });

  // The policy answers each request as the plan of its connection says for that pick.
  const policy: Policy = (requests) =>
    requests.pipe(
      mergeMap((request): Observable<Routed> => {
        const pick = pickOf.get(request) as PickRecord;
        const plan = conns[pick.conn]?.plan.answers[pick.n] ?? AT_ONCE;
        const chosen = request.candidates[plan.choice % request.candidates.length];
        switch (plan.kind) {
          case 'pick':
            return after(plan.after, { request, backend: chosen });
          case 'refuse':
            return after(plan.after, { request, backend: undefined });
          case 'outside':
            return after(plan.after, { request, backend: STRANGER });
          case 'copy':
            return after(plan.after, plan).pipe(
              map(() => {
                run.copiesAnswered += 1;
                return { request: { ...request }, backend: chosen };
              }),
            );
          case 'error':
            return failAfter(plan.after, () => new Error('scripted policy failure'));
          case 'never':
            return EMPTY;
        }
      }),
    );
  const inner = createRouter(policy, {
    pool: 'web',
    policy: 'scripted',
    report: (failure) => {
      run.reports.push(failure);
      fold({ type: 'policy-failed', pool: failure.pool, policy: failure.policy, kind: failure.kind, message: failure.error.message, count: 1 });
    },
  });
  // The router, with every pick and what became of it written down.
  let stopping = false;
  const router: Router = {
    pick: (request, late) => {
      const conn = conns.findIndex((c) => c.client === `${request.client.address}:${request.client.port}`);
      const record: PickRecord = { conn, n: picks.filter((p) => p.conn === conn).length, at: now(), request, answer: PENDING, late: [], forgotten: [], expired: [] };
      picks.push(record);
      pickOf.set(request, record);
      const answer = inner.pick(request, (a) => {
        record.late.push({ at: now(), answer: a });
        if (stopping) run.heldAtStop.push(record);
        late(a);
      });
      record.answer = answer;
      return answer;
    },
    forget: (request) => {
      pickOf.get(request)?.forgotten.push(now());
      inner.forget(request);
    },
    expire: (request) => {
      pickOf.get(request)?.expired.push(now());
      return inner.expire(request);
    },
    route$: (request) => inner.route$(request),
    stop: () => inner.stop(),
  };

  /** A fake edge whose every subscription is written down, with when its teardown ran. */
  const watch = <T>(into: Watched[], kind: Watched['kind'], conn: number, source: Observable<T>): Observable<T> =>
    new Observable<T>((subscriber) => {
      const seen: Watched = { kind, conn, subscribedAt: now(), endedAt: undefined, delivered: [] };
      into.push(seen);
      const subscription = source.subscribe({
        next: (value) => {
          seen.delivered.push({ at: now(), what: 'next', value });
          subscriber.next(value);
        },
        error: (err: unknown) => {
          seen.delivered.push({ at: now(), what: 'error', value: err });
          subscriber.error(err);
        },
        complete: () => {
          seen.delivered.push({ at: now(), what: 'complete', value: undefined });
          subscriber.complete();
        },
      });
      return () => {
        seen.endedAt ??= now();
        subscription.unsubscribe();
      };
    });

  const ioFor = (record: ConnRecord): ConnectionIo<FakeSocket, FakeSocket> => {
    const { index, plan } = record;
    return {
      // No door here: the door's own specs cover what it reads.
      preread$: () => NEVER,
      localAddress: () => undefined,
      clientGone$: () => {
        const gone = plan.gone;
        const source: Observable<void> = gone === undefined ? NEVER : gone.completes ? after(gone.after, undefined) : concat(after(gone.after, undefined), NEVER);
        return watch(record.watches, 'clientGone$', index, source);
      },
      connect$: (target) => {
        const attempt = record.connects.length + 1;
        const how = plan.connects[attempt - 1] ?? CONNECTED;
        const to = `${target.host}:${target.port}`;
        const source: Observable<FakeSocket> =
          how.kind === 'connect'
            ? after(how.after, upstreamOf(index, attempt))
            : how.kind === 'refuse'
              ? failAfter(how.after, () => new UpstreamConnectError(to, 'refused'))
              : how.kind === 'local'
                ? failAfter(how.after, () => new UpstreamConnectError(to, 'error', { local: 'EMFILE' }))
                : how.kind === 'bug'
                  ? failAfter(how.after, () => new Error('a bug in connect'))
                  : NEVER;
        return watch(record.connects, 'connect$', index, source);
      },
      splice$: () => {
        const copy = plan.copy;
        const source: Observable<SpliceEnd> = copy.kind === 'end' ? after(copy.after, { reason: copy.reason }) : copy.kind === 'error' ? failAfter(copy.after, () => new Error('a bug in the copy')) : NEVER;
        return watch(record.copies, 'splice$', index, source);
      },
      transferred: (_client, upstream) => (upstream ? { up: 11, down: 22 } : { up: 0, down: 0 }),
      refuse: (_client, how) => record.refused.push({ at: now(), how }),
      release: () => record.released.push(now()),
    };
  };

  const accept = (record: ConnRecord): void => {
    record.acceptedAt = now();
    record.stateAtAccept = run.state;
    const ctx: ConnectionContext<FakeSocket, FakeSocket> = {
      io: ioFor(record),
      state: () => run.state,
      router: (name) => (name === 'web' ? router : undefined),
      cut: (closed) => {
        record.cut.push({ at: now(), record: closed });
        fold(closed);
      },
      now,
      connectionCap: scenario.cap,
    };
    const accepted: Accepted<FakeSocket> = { listener: cfg.listeners[0]!, socket: socketOf(record.index), client: { address: '10.9.0.1', port: 40_000 + record.index } };
    record.subscription = connection$(accepted, ctx).subscribe({
      next: (event) => {
        record.events.push({ at: now(), event });
        fold(event);
      },
      error: (err: unknown) => (record.errored = err),
      complete: () => (record.completedAt = now()),
    });
  };
  const shutdown = (): void => {
    for (const record of conns) record.subscription?.unsubscribe();
  };

  scenario.conns.forEach((plan, index) => {
    const record: ConnRecord = {
      index,
      plan,
      client: `10.9.0.1:${40_000 + index}`,
      acceptedAt: undefined,
      stateAtAccept: undefined,
      events: [],
      cut: [],
      completedAt: undefined,
      errored: undefined,
      refused: [],
      released: [],
      connects: [],
      watches: [],
      copies: [],
      subscription: undefined,
    };
    conns.push(record);
    // A listener stops accepting at shutdown.
    if (scenario.shutdownAt === undefined || plan.at < scenario.shutdownAt) rx.schedule(() => accept(record), plan.at);
  });
  if (scenario.shutdownAt !== undefined) rx.schedule(shutdown, scenario.shutdownAt);
  rx.flush();
  // Everything that ends by itself has ended: what still runs (a copy that never ends) is cut.
  run.endedAt = now();
  shutdown();
  rx.flush();
  // Whatever the router still waits on is a request somebody left behind.
  stopping = true;
  router.stop();
  return run;
}
