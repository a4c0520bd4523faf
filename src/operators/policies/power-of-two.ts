import { defer, map } from 'rxjs';
import { type Rng, pickWeighted } from './random.js';
import type { Candidate, Policy, Routed } from './types.js';

/**
 * Picks two different candidates at random and takes the less loaded of the two
 * ("the power of two random choices"): nearly as even as least-connections, without
 * every connection rushing to the same idle backend.
 *
 * ```
 * req:    --a--b--c--|   (candidates [A active 4, B active 1, C active 0]; draws A+B, C+A, B+C)
 * picked: --B--C--C--|
 * ```
 *
 * For every request:
 * 1. a single candidate is picked directly (no draw);
 * 2. otherwise draw the first of the two by weight (probability weight / total), then
 *    the second by weight from the other candidates: a weighted draw, so when loads
 *    are equal each backend gets its weighted share;
 * 3. load = active / weight; pick the second only if its load is strictly lower,
 *    else the first. Loads are compared as active₁ × weight₂ and active₂ × weight₁, so
 *    equal loads are never split by rounding. The more loaded of the two is never picked.
 *
 * ```ts
 * requests$.pipe(powerOfTwo()).subscribe(({ backend }) => console.log(backend?.address));
 * requests$.pipe(powerOfTwo({ rng: mySeededRng })); // any () => number in [0, 1): repeatable draws
 * ```
 */
export function powerOfTwo(options: { rng?: Rng } = {}): Policy {
  const rng = options.rng ?? Math.random;
  return (source) => defer(() => source.pipe(map((request): Routed => ({ request, backend: pickOfTwo(request.candidates, rng) }))));
}

/** The two candidates a request draws (one when there is one), in draw order. */
export function drawTwo(candidates: readonly Candidate[], rng: Rng): readonly Candidate[] {
  const first = candidates.length > 1 ? pickWeighted(candidates, rng) : candidates[0];
  if (first === undefined) return [];
  if (candidates.length === 1) return [first];
  const second = pickWeighted(
    candidates.filter((c) => c !== first),
    rng,
  );
  return second === undefined ? [first] : [first, second];
}

/** Steps 1 to 3: the less loaded of two weighted draws, the first one on a tie. */
export function pickOfTwo(candidates: readonly Candidate[], rng: Rng): Candidate | undefined {
  const [first, second] = drawTwo(candidates, rng);
  if (first === undefined || second === undefined) return first;
  return lessLoaded(second, first) ? second : first;
}

/** Whether `a` carries strictly fewer active connections per unit of weight than `b`. */
export function lessLoaded(a: Candidate, b: Candidate): boolean {
  return a.active * b.weight < b.active * a.weight;
}
