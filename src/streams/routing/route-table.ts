import { Observable } from 'rxjs';
import type { Config } from '../../config/types.js';
import { builtinPolicies, policyFactory } from '../../operators/policies/registry.js';
import type { PolicyFactory } from '../../operators/policies/types.js';
import { createRouter, type Route } from './router.js';

/** Finds the router of a pool by name. */
export type RouteTable = (pool: string) => Route | undefined;

/**
 * One running policy per pool, following the config: a pool whose policy name is
 * unchanged keeps its router (and so its round-robin position) across reloads; a new
 * or changed one gets a fresh router; a removed one is stopped. Emits the lookup
 * after every config; teardown stops every router.
 */
export function routing$(config$: Observable<Config>, policies: Readonly<Record<string, PolicyFactory>> = builtinPolicies): Observable<RouteTable> {
  return new Observable<RouteTable>((subscriber) => {
    const running = new Map<string, { policy: string; route: Route; stop: () => void }>();
    const lookup: RouteTable = (pool) => running.get(pool)?.route;
    const subscription = config$.subscribe({
      next: (config) => {
        const wanted = new Map(config.pools.map((p) => [p.name, p.policy]));
        for (const [name, router] of running) {
          if (wanted.get(name) !== router.policy) {
            router.stop();
            running.delete(name);
          }
        }
        for (const [name, policy] of wanted) {
          if (!running.has(name)) running.set(name, { policy, ...createRouter(policyFactory(policy, policies)()) });
        }
        subscriber.next(lookup);
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => undefined, // the routers outlive the config source; teardown stops them
    });
    return () => {
      subscription.unsubscribe();
      for (const router of running.values()) router.stop();
      running.clear();
    };
  });
}
