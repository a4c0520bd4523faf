import { Observable } from 'rxjs';
import type { Config } from '../../config/types.js';
import { builtinPolicies, policyFactory } from '../../operators/policies/registry.js';
import type { PolicyFactory } from '../../operators/policies/types.js';
import { type PolicyFailure, type Router, createRouter } from './router.js';

/** Finds the router of a pool by name. */
export type RouteTable = (pool: string) => Router | undefined;

/**
 * One running policy per pool, following the config: a pool whose policy name is
 * unchanged keeps its router (and so its round-robin position) across reloads; a new
 * or changed one gets a fresh router; a removed one is stopped. Emits the lookup
 * after every config; teardown stops every router. Every failure of a policy goes to
 * `report`.
 */
export function routing$(
  config$: Observable<Config>,
  policies: Readonly<Record<string, PolicyFactory>> = builtinPolicies,
  report?: (failure: PolicyFailure) => void,
): Observable<RouteTable> {
  return new Observable<RouteTable>((subscriber) => {
    const running = new Map<string, { readonly policy: string; readonly router: Router }>();
    const lookup: RouteTable = (pool) => running.get(pool)?.router;
    const subscription = config$.subscribe({
      next: (config) => {
        const wanted = new Map(config.pools.map((p) => [p.name, p.policy]));
        for (const [name, entry] of running) {
          if (wanted.get(name) !== entry.policy) {
            entry.router.stop();
            running.delete(name);
          }
        }
        for (const [name, policy] of wanted) {
          if (!running.has(name)) running.set(name, { policy, router: createRouter(policyFactory(policy, policies)(), { pool: name, policy, report }) });
        }
        subscriber.next(lookup);
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => undefined, // the routers outlive the config source; teardown stops them
    });
    return () => {
      subscription.unsubscribe();
      for (const { router } of running.values()) router.stop();
      running.clear();
    };
  });
}
