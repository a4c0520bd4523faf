import { defer, map } from 'rxjs';
import type { Candidate, Policy, RouteRequest, Routed } from './types.js';

/**
 * Picks each candidate in turn; with weights, smooth weighted round robin as nginx
 * does it, so a heavy backend's turns are spread out rather than bunched.
 *
 * ```
 * req:    --a--b--c--d--|   (candidates [A, B, C], equal weights)
 * picked: --A--B--C--A--|
 * ```
 *
 * For every request:
 * 1. add each candidate's weight to its running score (a new candidate starts at 0);
 * 2. pick the candidate with the highest score (the first one on a tie);
 * 3. subtract the candidates' total weight from the picked one's score.
 *
 * Weights 5, 1, 1 give `a a b a c a a`, repeating. Only the candidates of each request
 * take part, so a backend that is down or full neither gains nor loses turns.
 *
 * ```ts
 * requests$.pipe(roundRobin()).subscribe(({ backend }) => console.log(backend?.address));
 * ```
 */
export function roundRobin(): Policy {
  return (source) =>
    defer(() => {
      const scores = new Map<string, number>(); // per subscription: one pool's turns
      return source.pipe(map((request): Routed => ({ request, backend: pickSmooth(request, scores) })));
    });
}

function pickSmooth(request: RouteRequest, scores: Map<string, number>): Candidate | undefined {
  let best: Candidate | undefined;
  let bestScore = -Infinity;
  let total = 0;
  for (const candidate of request.candidates) {
    const score = (scores.get(candidate.address) ?? 0) + candidate.weight;
    scores.set(candidate.address, score);
    total += candidate.weight;
    if (score > bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  if (best) scores.set(best.address, bestScore - total);
  // Backends that left the pool would otherwise keep their score forever.
  if (scores.size > 2 * request.candidates.length + 16) prune(scores, request.candidates);
  return best;
}

function prune(scores: Map<string, number>, keep: readonly Candidate[]): void {
  const live = new Set(keep.map((c) => c.address));
  for (const address of scores.keys()) if (!live.has(address)) scores.delete(address);
}
