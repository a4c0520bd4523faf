import { defer, map } from 'rxjs';
import type { Candidate, Policy, Routed } from './types.js';

/** A source of uniform numbers in [0, 1), like `Math.random`; inject one to make tests repeatable. */
export type Rng = () => number;

/**
 * Picks a candidate at random, each with probability weight / total weight.
 *
 * ```
 * req:    --a--b--c--|   (candidates [A w=3, B w=1], rng 0.1, 0.9, 0.5)
 * picked: --A--B--A--|
 * ```
 *
 * 1. draw r in [0, total weight);
 * 2. walk the candidates in order, subtracting each weight, until r falls inside one.
 */
export function random(options: { rng?: Rng } = {}): Policy {
  const rng = options.rng ?? Math.random;
  return (source) =>
    defer(() => source.pipe(map((request): Routed => ({ request, backend: pickWeighted(request.candidates, rng) }))));
}

/** The weighted draw shared by policies that need one. */
export function pickWeighted(candidates: readonly Candidate[], rng: Rng): Candidate | undefined {
  let total = 0;
  for (const c of candidates) total += c.weight;
  let r = rng() * total;
  for (const c of candidates) {
    r -= c.weight;
    if (r < 0) return c;
  }
  return candidates[candidates.length - 1]; // only reached through rounding at the top end
}
