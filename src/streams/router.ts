import { Observable, Subscriber, retry, of } from 'rxjs';
import { PolicyError } from '../errors.js';
import type { Candidate, Policy, RouteRequest } from '../operators/types.js';

/** Asks a pool's policy for one decision. */
export type Route = (request: RouteRequest) => Observable<Candidate | undefined>;

/**
 * Runs one policy for the life of a pool. The policy operator is subscribed once, so its
 * per-subscription state (a round-robin position, weights) lasts across connections;
 * each request waits in a map until the policy answers it, usually synchronously.
 *
 * A policy that throws loses that decision, not the pool: whoever was waiting gets a
 * PolicyError and the policy is subscribed afresh. `stop` ends the policy and fails
 * whatever still waits.
 */
export function createRouter(policy: Policy): { route: Route; stop: () => void } {
  const waiting = new Map<RouteRequest, Subscriber<Candidate | undefined>>();
  let push: ((request: RouteRequest) => void) | undefined;
  let stopped = false;

  const failAll = (err: PolicyError): void => {
    const all = [...waiting.values()];
    waiting.clear();
    for (const subscriber of all) subscriber.error(err);
  };

  const requests$ = new Observable<RouteRequest>((subscriber) => {
    push = (request) => subscriber.next(request);
    return () => (push = undefined);
  });
  const subscription = requests$
    .pipe(
      policy,
      retry({
        delay: (failure: unknown) => {
          failAll(new PolicyError('the policy failed', { cause: failure }));
          return of(0);
        },
      }),
    )
    .subscribe({
      next: ({ request, backend }) => {
        const subscriber = waiting.get(request);
        if (!subscriber) return; // the connection went away while the policy thought
        waiting.delete(request);
        if (backend !== undefined && !request.candidates.includes(backend)) {
          subscriber.error(new PolicyError(`the policy picked ${backend.address}, which was not a candidate`));
        } else {
          subscriber.next(backend);
          subscriber.complete();
        }
      },
      complete: () => {
        stopped = true;
        failAll(new PolicyError('the policy stopped answering'));
      },
    });

  const route: Route = (request) =>
    new Observable<Candidate | undefined>((subscriber) => {
      if (stopped || !push) {
        subscriber.error(new PolicyError(`the policy of pool ${request.pool} is not running`));
        return;
      }
      waiting.set(request, subscriber);
      push(request);
      return () => waiting.delete(request);
    });

  return {
    route,
    stop: () => {
      stopped = true;
      subscription.unsubscribe();
      failAll(new PolicyError('the pool was removed'));
    },
  };
}
