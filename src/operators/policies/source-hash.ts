import { defer, map } from 'rxjs';
import { clientIp, murmur3, murmur3Int } from './hash.js';
import type { Candidate, Policy, RouteRequest, Routed } from './types.js';

/** What a hash policy hashes for a request: by default the client's IP, without its port. */
export type HashKey = (request: RouteRequest) => string;

/** The default {@link HashKey}: the client IP (IPv4-mapped IPv6 written as IPv4). */
export const clientKey: HashKey = (request) => clientIp(request.client.address);

const KEY_SEED = 0x5eed0001;
const BACKEND_SEED = 0x5eed0002;

/** A backend's own 32-bit hash, from its address. */
export const backendHash = (address: string): number => murmur3(address, BACKEND_SEED);

/**
 * Picks by client address, so one client keeps one backend: weighted rendezvous
 * (highest-random-weight) hashing of the client IP against every backend.
 *
 * ```
 * req:    --a--b--a--c--|   (clients a, b, c; up and candidates [A, B, C])
 * picked: --B--C--B--A--|   (each client always gets the same backend)
 * ```
 *
 * For every request:
 * 1. hash the client IP (`key`, the port left out) to 32 bits, `k`;
 * 2. give each backend of the client's group a score: with `h` = murmur3 of the
 *    backend's own address hash seeded with `k` (a fresh number per client and
 *    backend), and `u` = (h + 0.5) / 2³² in (0, 1), the score is weight / -ln(u);
 * 3. the backends in descending score are this client's preference order over
 *    `request.up`; pick the first of them that is a candidate, i.e. the candidate with
 *    the highest score.
 *
 * Why rendezvous hashing rather than a ring or a table: a backend's score depends only
 * on the client and that backend, so the order between two backends never changes
 * when others come or go. A client moves only when its own backend leaves (then to its
 * second choice, which is spread evenly over the rest), and a backend that is full or
 * was already tried by this connection is skipped without disturbing anyone else.
 * `weight / -ln(u)` makes backend i win with probability weight_i / total weight
 * exactly. The cost is a few multiplications and one logarithm per backend per
 * connection (the address hashes are kept per subscription); for hundreds of
 * backends, `maglev` answers in constant time.
 *
 * ```ts
 * requests$.pipe(sourceHash()).subscribe(({ request, backend }) => console.log(request.client.address, '->', backend?.address));
 * requests$.pipe(sourceHash({ key: (r) => r.client.address.split('.').slice(0, 3).join('.') })); // by /24 network
 * ```
 */
export function sourceHash(options: { key?: HashKey } = {}): Policy {
  const key = options.key ?? clientKey;
  return (source) =>
    defer(() => {
      const hashes = new Map<string, number>(); // per subscription: backend address -> backendHash
      const hashOf = (address: string): number => {
        let hash = hashes.get(address);
        if (hash === undefined) {
          if (hashes.size >= 4096) hashes.clear(); // backends come and go over a long life
          hash = backendHash(address);
          hashes.set(address, hash);
        }
        return hash;
      };
      return source.pipe(map((request): Routed => ({ request, backend: pickRendezvous(request.candidates, murmur3(key(request), KEY_SEED), hashOf) })));
    });
}

/**
 * The candidate with the highest rendezvous score for a hashed key; as the order of
 * any two backends does not depend on the others, this is also the first candidate in
 * the key's preference order over the whole group.
 */
export function pickRendezvous(candidates: readonly Candidate[], keyHash: number, hashOf: (address: string) => number = backendHash): Candidate | undefined {
  let best: Candidate | undefined;
  let bestScore = -Infinity;
  for (const candidate of candidates) {
    const score = rendezvousScore(candidate.weight, murmur3Int(hashOf(candidate.address), keyHash));
    if (score > bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/** Weighted rendezvous score from a weight and a 32-bit pair hash: larger wins. */
export function rendezvousScore(weight: number, pairHash: number): number {
  const u = (pairHash + 0.5) / 0x1_0000_0000;
  return weight / -Math.log(u);
}
