import { Observable, Subject, type Subscriber, type Subscription } from 'rxjs';
import { PolicyError } from '../../errors.js';
import type { Candidate, Policy, RouteRequest } from '../../operators/policies/types.js';

/** Asks a pool's policy for one decision. */
export type Route = (request: RouteRequest) => Observable<Candidate | undefined>;

/**
 * Runs one policy for the life of a pool. The policy operator is subscribed once, so its
 * per-subscription state (a round-robin position, weights) lasts across connections;
 * each request waits in a map until the policy answers it, usually synchronously.
 *
 * A policy that errors or completes loses the decisions waiting on it, not the pool:
 * they fail with PolicyError, and the next request subscribes the policy afresh. (Not
 * at once: a policy that fails as soon as it is subscribed would otherwise loop.)
 * `stop` ends the policy and fails whatever still waits.
 */
export function createRouter(policy: Policy): { route: Route; stop: () => void } {
  const waiting = new Map<RouteRequest, Subscriber<Candidate | undefined>>();
  // A Subject, so a policy may subscribe to its requests more than once (partition, merge).
  const requests = new Subject<RouteRequest>();
  let running: Subscription | undefined;
  let stopped = false;

  const failAll = (err: PolicyError): void => {
    const all = [...waiting.values()];
    waiting.clear();
    for (const subscriber of all) subscriber.error(err);
  };

  const start = (): void => {
    running = requests.pipe(policy).subscribe({
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
      error: (failure: unknown) => failAll(new PolicyError('the policy failed', { cause: failure })),
      complete: () => failAll(new PolicyError('the policy stopped answering')),
    });
  };

  const route: Route = (request) =>
    new Observable<Candidate | undefined>((subscriber) => {
      if (stopped) {
        subscriber.error(new PolicyError(`the policy of pool ${request.pool} is not running`));
        return;
      }
      waiting.set(request, subscriber);
      if (!running || running.closed) start();
      if (waiting.has(request)) requests.next(request);
      return () => waiting.delete(request);
    });

  return {
    route,
    stop: () => {
      stopped = true;
      running?.unsubscribe();
      failAll(new PolicyError('the pool was removed'));
    },
  };
}
