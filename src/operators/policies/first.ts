import { map } from 'rxjs';
import type { Candidate, Policy, Routed } from './types.js';

/**
 * Picks the first candidate in configured order: the first up backend under its
 * `max_connections`, so backends are filled one after another (HAProxy's `first`).
 * Keeps the fewest backends busy, letting the others idle or scale down.
 *
 * ```
 * req:    --a--b--c--|   (A w/ max 2: candidates [A, B], [A, B], then [B] as A is full)
 * picked: --A--A--B--|
 * ```
 *
 * For every request:
 * 1. take the candidate with the lowest configured `index` (candidates arrive in
 *    config order already, and exclude full, down, draining, disabled and already
 *    tried backends, and backups while a primary is up);
 * 2. that is the answer; nothing is kept between requests.
 *
 * Named like RxJS's own `first`; import it under another name if you use both:
 * ```ts
 * import { first as firstBackend } from 'rxlb';
 * requests$.pipe(firstBackend()).subscribe(({ backend }) => console.log(backend?.address));
 * ```
 */
export function first(): Policy {
  return (source) => source.pipe(map((request): Routed => ({ request, backend: lowestIndex(request.candidates) })));
}

function lowestIndex(candidates: readonly Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of candidates) if (best === undefined || c.index < best.index) best = c;
  return best;
}
