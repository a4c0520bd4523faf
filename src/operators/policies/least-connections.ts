import { defer, map } from 'rxjs';
import type { Candidate, Policy, Routed } from './types.js';

/**
 * Picks the candidate with the fewest active connections relative to its weight;
 * ties are broken in turn, so idle backends still share new connections evenly.
 *
 * ```
 * req:    --a--b--c--|   (A active 3, B active 1, C active 1; equal weights)
 * picked: --B--C--B--|   (counts as given by each request)
 * ```
 *
 * 1. load = active / weight for each candidate;
 * 2. keep the candidates with the lowest load;
 * 3. among them, take the next one after the last pick (a cursor per subscription).
 */
export function leastConnections(): Policy {
  return (source) =>
    defer(() => {
      let turn = 0; // per subscription: rotates ties
      return source.pipe(
        map((request): Routed => {
          const tied = leastLoaded(request.candidates);
          const backend = tied[turn % tied.length];
          turn = (turn + 1) % 0x7fffffff;
          return { request, backend };
        }),
      );
    });
}

/** The candidates sharing the lowest active/weight load, in order. */
export function leastLoaded(candidates: readonly Candidate[]): Candidate[] {
  let best = Infinity;
  let tied: Candidate[] = [];
  for (const c of candidates) {
    const load = c.active / c.weight;
    if (load < best) {
      best = load;
      tied = [c];
    } else if (load === best) {
      tied.push(c);
    }
  }
  return tied;
}
