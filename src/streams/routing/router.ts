import { Observable, Subject, type Subscription } from 'rxjs';
import { PolicyFailedError, type PolicyFailureKind } from '../../errors.js';
import type { Candidate, Policy, RouteRequest } from '../../operators/policies/types.js';

/** The policy has not answered yet: the answer will come through the `late` callback. */
export const PENDING: unique symbol = Symbol('pending');

/** What a policy answered: a backend, `undefined` (it refused), or why it let the request down. */
export type Answer = Candidate | undefined | PolicyFailedError;

/** A policy that let a request down, for the log and the metrics. */
export interface PolicyFailure {
  readonly pool: string;
  readonly policy: string;
  readonly kind: PolicyFailureKind;
  readonly error: PolicyFailedError;
}

/** Asks one pool's policy for routing decisions. */
export interface Router {
  /**
   * Asks the policy to pick one of `request.candidates`. Almost every policy answers
   * while it is asked, and then the answer is returned; otherwise PENDING is, and
   * `late` gets the answer once it comes. Each request gets exactly one answer, unless
   * it is forgotten or expired first.
   */
  pick(request: RouteRequest, late: (answer: Answer) => void): Answer | typeof PENDING;
  /** The asker went away: its request is no longer waited on. */
  forget(request: RouteRequest): void;
  /** The asker gave up waiting: forgets the request and reports the policy for not answering. */
  expire(request: RouteRequest): PolicyFailedError;
  /** The same decision as an observable (one value, then complete), for callers that wait on their own terms. */
  route$(request: RouteRequest): Observable<Candidate | undefined>;
  /** Ends the policy: what still waits fails, and so does every later request. */
  stop(): void;
}

export interface RouterOptions {
  /** The pool and the policy's name, for the reports. */
  readonly pool: string;
  readonly policy: string;
  /** Hears every failure of the policy (logged, throttled, and counted in the state). */
  readonly report?: (failure: PolicyFailure) => void;
}

/**
 * Runs one policy for the life of a pool. The policy operator is subscribed once, so its
 * per-subscription state (a round-robin position, weights) lasts across connections,
 * and a request is pushed into it and its answer read on the same tick: no observable,
 * subscriber or map entry per connection for the usual, synchronous policy.
 *
 * ```
 * requests:  --a------b--------c--
 * policy:    --A------(b waits)-B-C     (an asynchronous policy answers b late)
 * pick():    --A------PENDING---   C
 * late(b):                     B
 * ```
 *
 * 1. `pick` pushes the request into the policy and returns the answer if it came while
 *    the request was being pushed; else the request waits, keyed by identity, for `late`.
 * 2. Every answer is checked: a backend outside the candidates is a failure (`not_candidate`).
 * 3. A policy that errors or completes fails what waits (`error`, `stopped`), not the pool:
 *    the next request subscribes it afresh. (Not at once: a policy that fails as soon as
 *    it is subscribed would otherwise loop.)
 * 4. An answer to a request nobody asked (a policy that builds a copy of the request
 *    instead of passing it back) is reported (`unknown_request`); the request it stands
 *    for stays unanswered until its asker's deadline expires it (`no_answer`).
 *
 * Each failure reaches `report` once, with the pool and the policy's name.
 */
export function createRouter(policy: Policy, options: RouterOptions = { pool: '?', policy: '?' }): Router {
  const waiting = new Map<RouteRequest, (answer: Answer) => void>();
  // A Subject, so a policy may subscribe to its requests more than once (partition, merge).
  const requests = new Subject<RouteRequest>();
  let running: Subscription | undefined;
  let stopped = false;
  // The request being pushed right now, and its answer if it comes before the push returns.
  let asking: RouteRequest | undefined;
  let answered: Answer | typeof PENDING = PENDING;
  // Requests whose askers went away: their late answers are not reported as strangers.
  let forgotten: WeakSet<RouteRequest> | undefined;

  const fail = (kind: PolicyFailureKind, message: string, cause?: unknown): PolicyFailedError => {
    const error = new PolicyFailedError(`pool ${options.pool}: policy ${options.policy}: ${message}`, kind, cause === undefined ? undefined : { cause });
    options.report?.({ pool: options.pool, policy: options.policy, kind, error });
    return error;
  };

  const failAll = (kind: PolicyFailureKind, message: string, cause?: unknown): void => {
    const error = fail(kind, message, cause);
    if (asking !== undefined && answered === PENDING) answered = error;
    const all = [...waiting.values()];
    waiting.clear();
    for (const late of all) late(error);
  };

  const start = (): void => {
    running = requests.pipe(policy).subscribe({
      next: ({ request, backend }) => {
        const answer: Answer = backend === undefined || request.candidates.includes(backend) ? backend : fail('not_candidate', `picked ${backend.address}, which was not a candidate`);
        if (request === asking && answered === PENDING) {
          answered = answer;
          return;
        }
        const late = waiting.get(request);
        if (late !== undefined) {
          waiting.delete(request);
          late(answer);
        } else if (!forgotten?.has(request)) {
          fail('unknown_request', 'answered a request it was not asked (an answer must carry the request object it was given)');
        }
      },
      error: (failure: unknown) => failAll('error', `failed: ${failure instanceof Error ? failure.message : String(failure)}`, failure),
      complete: () => failAll('stopped', 'stopped answering (its observable completed)'),
    });
  };

  const pick = (request: RouteRequest, late: (answer: Answer) => void): Answer | typeof PENDING => {
    if (stopped) return new PolicyFailedError(`pool ${options.pool}: the pool was removed`, 'stopped');
    asking = request;
    answered = PENDING;
    // A policy subscribed afresh that fails at once answers this request with its failure.
    if (running === undefined || running.closed) start();
    if (running?.closed === false) requests.next(request);
    const answer = answered as Answer | typeof PENDING; // set by the policy's subscriber while `next` ran
    asking = undefined;
    answered = PENDING;
    if (answer === PENDING) waiting.set(request, late);
    return answer;
  };

  const forget = (request: RouteRequest): void => {
    if (waiting.delete(request)) (forgotten ??= new WeakSet()).add(request);
  };

  return {
    pick,
    forget,
    expire: (request) => {
      forget(request);
      return fail('no_answer', 'did not answer in time');
    },
    route$: (request) =>
      new Observable<Candidate | undefined>((subscriber) => {
        const deliver = (answer: Answer): void => {
          if (answer instanceof PolicyFailedError) subscriber.error(answer);
          else {
            subscriber.next(answer);
            subscriber.complete();
          }
        };
        const answer = pick(request, deliver);
        if (answer !== PENDING) deliver(answer);
        return () => forget(request);
      }),
    stop: () => {
      stopped = true;
      running?.unsubscribe();
      const error = new PolicyFailedError(`pool ${options.pool}: the pool was removed`, 'stopped');
      const all = [...waiting.values()];
      waiting.clear();
      for (const late of all) late(error);
    },
  };
}
