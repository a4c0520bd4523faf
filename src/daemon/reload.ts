import { type Observable, Subject, concat, concatMap, from, of, tap } from 'rxjs';
import type { ReloadResult } from '../admin/types.js';
import type { Config } from '../config/types.js';
import { problemLines } from '../errors.js';
import type { BalancerEvent, ConfigProposal } from '../streams/balancer.js';
import { describeChange } from '../streams/reload/config-diff.js';

export interface Reloader {
  /** The balancer's config source: the config rxlb started with, then one proposal per reload. */
  readonly config$: Observable<ConfigProposal>;
  /** Reads the config again (SIGHUP, `POST /reload`); resolves with what the balancer made of it. */
  request(): Promise<ReloadResult>;
  /** Sees the balancer's events, to answer each request with its outcome. */
  observe(event: BalancerEvent): void;
  /** rxlb is shutting down: what waits, and every later request, is answered that nothing was reloaded. */
  stop(): void;
}

/**
 * Turns reload requests into config proposals for the balancer, one at a time and in
 * order. A file that does not load (invalid, a hostname that does not resolve, a policy
 * module that fails) becomes a rejected proposal, which the balancer counts and reports
 * as any failed reload; so each request gets exactly one `reloaded` or `reload-failed`
 * event back, in order, and is answered from it.
 */
export function createReloader(initial: Config, load: () => Promise<Config>): Reloader {
  const requests = new Subject<(result: ReloadResult) => void>();
  const waiting: ((result: ReloadResult) => void)[] = [];
  const stopping: ReloadResult = { ok: false, errors: ['rxlb is shutting down: nothing was reloaded'], shuttingDown: true };
  let stopped = false;
  const proposals$ = requests.pipe(
    concatMap((answer) =>
      from(load().then((config): ConfigProposal => config, rejection)).pipe(
        // Waiting before the balancer sees it: a rejected proposal is answered at once.
        tap(() => (stopped ? answer(stopping) : waiting.push(answer))),
      ),
    ),
  );
  return {
    config$: concat(of(initial), proposals$),
    request: () => new Promise<ReloadResult>((resolve) => (stopped ? resolve(stopping) : requests.next(resolve))),
    observe(event) {
      if (event.type === 'reloaded') waiting.shift()?.({ ok: true, changes: event.changes.map(describeChange) });
      if (event.type === 'reload-failed') waiting.shift()?.({ ok: false, errors: event.errors });
    },
    stop() {
      stopped = true;
      requests.complete(); // a load under way still finishes, unanswered by the balancer
      for (const answer of waiting.splice(0)) answer(stopping);
    },
  };
}

/** A config that did not load, with one line per problem, each naming where it is. */
function rejection(err: unknown): ConfigProposal {
  return { rejected: true, errors: problemLines(err) };
}
