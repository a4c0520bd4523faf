import { Observable, Subject, of, retry } from 'rxjs';
import { PolicyError } from '../errors.js';
import type { Candidate, Policy, RouteRequest, Routed } from '../operators/types.js';

/** Asks a pool's policy for one decision. */
export type Route = (request: RouteRequest) => Observable<Candidate | undefined>;

type Answer = Routed | { readonly failure: unknown };

/**
 * Runs one policy for the life of a pool: requests go in through a Subject, the policy
 * operator is subscribed once (so its per-subscription state persists across
 * connections), and each caller waits for the answer to its own request.
 *
 * A policy that throws loses that decision, not the pool: the failure goes to whoever
 * was waiting and the policy is subscribed afresh. The returned teardown stops it.
 */
export function createRouter(policy: Policy): { route: Route; stop: () => void } {
  const requests = new Subject<RouteRequest>();
  const answers = new Subject<Answer>();
  const subscription = requests
    .pipe(
      policy,
      retry({
        delay: (failure: unknown) => {
          answers.next({ failure });
          return of(0);
        },
      }),
    )
    .subscribe(answers);

  const route: Route = (request) =>
    new Observable<Candidate | undefined>((subscriber) => {
      const waiting = answers.subscribe({
        next: (answer) => {
          if ('failure' in answer) {
            subscriber.error(new PolicyError(`policy for pool ${request.pool} failed`, { cause: answer.failure }));
          } else if (answer.request === request) {
            const { backend } = answer;
            if (backend !== undefined && !request.candidates.includes(backend)) {
              subscriber.error(new PolicyError(`policy for pool ${request.pool} picked ${backend.address}, which was not a candidate`));
            } else {
              subscriber.next(backend);
              subscriber.complete();
            }
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.error(new PolicyError(`policy for pool ${request.pool} stopped answering`)),
      });
      requests.next(request);
      return waiting;
    });

  return {
    route,
    stop: () => {
      subscription.unsubscribe();
      answers.complete();
    },
  };
}
