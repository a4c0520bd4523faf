import { NEVER, delay, map, merge, partition, take, tap, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PolicyFailedError } from '../../../../src/errors.js';
import { leastConnections } from '../../../../src/operators/policies/least-connections.js';
import { roundRobin } from '../../../../src/operators/policies/round-robin.js';
import type { Candidate, Policy } from '../../../../src/operators/policies/types.js';
import { type Answer, PENDING, type PolicyFailure, type Router, createRouter } from '../../../../src/streams/routing/router.js';
import { candidate, request, testScheduler } from '../../helpers.js';

const A = candidate('a', 1, 0, 0);
const B = candidate('b', 1, 0, 1);

/** A router whose failures are collected as `kind` strings. */
function routerOf(policy: Policy): { router: Router; failures: PolicyFailure[] } {
  const failures: PolicyFailure[] = [];
  return { router: createRouter(policy, { pool: 'web', policy: 'test', report: (f) => failures.push(f) }), failures };
}

/** The answer's address, `-` for a refusal, or the failure's kind; PENDING as `…`. */
const show = (answer: Answer | typeof PENDING): string => {
  if (answer === PENDING) return '…';
  if (answer instanceof PolicyFailedError) return `!${answer.kind}`;
  return (answer as Candidate | undefined)?.address ?? '-';
};

const noLate = (): void => {
  throw new Error('a synchronous policy must not answer late');
};

describe('createRouter', () => {
  it('answers a synchronous policy on the same tick, and keeps one subscription so its turns last', () => {
    let subscriptions = 0;
    const counted: Policy = (requests) => {
      subscriptions += 1;
      return requests.pipe(roundRobin());
    };
    const { router, failures } = routerOf(counted);
    const picks = [1, 2, 3].map(() => show(router.pick(request([A, B]), noLate)));
    expect(picks).toEqual(['a', 'b', 'a']);
    expect(subscriptions).toBe(1);
    expect(failures).toEqual([]);
  });

  it('lets a policy subscribe to its requests more than once (partition and merge)', () => {
    const officeFirst: Policy = (requests) => {
      const [office, others] = partition(requests, (r) => r.client.address.startsWith('10.1.'));
      return merge(office.pipe(map((r) => ({ request: r, backend: r.candidates[0] }))), others.pipe(leastConnections()));
    };
    const { router } = routerOf(officeFirst);
    const clients = ['10.1.0.7', '192.0.2.1', '10.1.0.8', '192.0.2.2'];
    expect(clients.map((c) => show(router.pick(request([A, B], c), noLate)))).toEqual(['a', 'a', 'a', 'b']);
  });

  it('answers a late policy through route$ in virtual time, one value then complete', () => {
    const rx = testScheduler();
    rx.run(({ expectObservable }) => {
      const { router } = routerOf((requests) => requests.pipe(delay(3), roundRobin()));
      expectObservable(router.route$(request([A, B])).pipe(map((c) => c?.address))).toBe('3ms (a|)', { a: 'a' });
    });
  });

  it('forgets a request whose asker unsubscribed: its late answer goes nowhere and is no fault', () => {
    const rx = testScheduler();
    rx.run(({ expectObservable }) => {
      const answered: string[] = [];
      const { router, failures } = routerOf((requests) =>
        requests.pipe(
          delay(3),
          roundRobin(),
          tap((r) => answered.push(r.backend?.address ?? '-')),
        ),
      );
      expectObservable(router.route$(request([A, B])), '^ 1ms !').toBe('');
      rx.flush();
      expect(answered).toEqual(['a']); // the policy did answer, at 3
      expect(failures).toEqual([]);
    });
  });

  it('fails the request a policy throws on, reports it, then serves the next one afresh', () => {
    let calls = 0;
    const flaky: Policy = (requests) =>
      requests.pipe(
        map((r) => {
          calls += 1;
          if (calls === 1) throw new Error('boom');
          return { request: r, backend: r.candidates[1] };
        }),
      );
    const { router, failures } = routerOf(flaky);
    expect(show(router.pick(request([A, B]), noLate))).toBe('!error');
    expect(show(router.pick(request([A, B]), noLate))).toBe('b');
    expect(failures.map((f) => [f.pool, f.policy, f.kind, f.error.message])).toEqual([['web', 'test', 'error', 'pool web: policy test: failed: boom']]);
  });

  it('rejects an answer that is not one of the candidates', () => {
    const { router, failures } = routerOf((requests) => requests.pipe(map((r) => ({ request: r, backend: candidate('z') }))));
    expect(show(router.pick(request([A, B]), noLate))).toBe('!not_candidate');
    expect(failures[0]?.error.message).toBe('pool web: policy test: picked z, which was not a candidate');
  });

  it('fails what waits when the policy completes, and subscribes it afresh for the next request', () => {
    let subscriptions = 0;
    const silent: Policy = (requests) => {
      subscriptions += 1;
      return requests.pipe(take(0), map((r) => ({ request: r, backend: undefined })));
    };
    const { router, failures } = routerOf(silent);
    expect(show(router.pick(request([A, B]), noLate))).toBe('!stopped');
    expect(show(router.pick(request([A, B]), noLate))).toBe('!stopped');
    expect(subscriptions).toBe(2);
    expect(failures.map((f) => f.kind)).toEqual(['stopped', 'stopped']);
  });

  it('does not loop on a policy that fails as soon as it is subscribed: each request tries once', () => {
    let subscriptions = 0;
    const broken: Policy = () => {
      subscriptions += 1;
      return throwError(() => new Error('broken at subscription'));
    };
    const { router } = routerOf(broken);
    expect(show(router.pick(request([A, B]), noLate))).toBe('!error');
    expect(show(router.pick(request([A, B]), noLate))).toBe('!error');
    expect(subscriptions).toBe(2);
  });

  it('reports an answer to a request it was not asked (a copy), and the real request stays unanswered until expired', () => {
    const { router, failures } = routerOf((requests) => requests.pipe(map((r) => ({ request: { ...r }, backend: r.candidates[0] }))));
    const asked = request([A, B]);
    const late: Answer[] = [];
    expect(router.pick(asked, (a) => late.push(a))).toBe(PENDING);
    expect(failures.map((f) => f.kind)).toEqual(['unknown_request']);
    expect(router.expire(asked).kind).toBe('no_answer');
    expect(failures.map((f) => f.kind)).toEqual(['unknown_request', 'no_answer']);
    expect(late).toEqual([]);
  });

  it('fails what waits when stopped, and every later request', () => {
    const { router } = routerOf(() => NEVER);
    const late: string[] = [];
    expect(router.pick(request([A, B]), (a) => late.push(show(a)))).toBe(PENDING);
    router.stop();
    expect(late).toEqual(['!stopped']);
    expect(show(router.pick(request([A, B]), noLate))).toBe('!stopped');
  });
});
