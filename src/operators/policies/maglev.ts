import { defer, map } from 'rxjs';
import { PolicyError } from '../../errors.js';
import { murmur3 } from './hash.js';
import { type HashKey, clientKey } from './source-hash.js';
import type { Candidate, Policy, Routed } from './types.js';

/** A built Maglev lookup table: `entries[slot]` is an index into `backends`. */
export interface MaglevTable {
  /** The number of slots, a prime. */
  readonly size: number;
  /** The backends it was built from, sorted by address. */
  readonly backends: readonly { readonly address: string; readonly weight: number }[];
  /** Each backend's position in `backends`, by address. */
  readonly positions: ReadonlyMap<string, number>;
  readonly entries: Int32Array;
}

export interface MaglevOptions {
  /**
   * Slots in the table, a prime. Default: 65,537 as Envoy's, or for more than 655
   * backends the smallest prime of a short list that is at least 100 × backends, so
   * each backend keeps about 100 slots or more.
   */
  readonly tableSize?: number;
  /** What to hash; default the client IP. */
  readonly key?: HashKey;
  /** Called with each table built, e.g. to log rebuilds. */
  readonly onRebuild?: (table: MaglevTable) => void;
}

/** Table sizes to choose from: the smallest prime at or above 65,536 × 2ⁿ. */
export const MAGLEV_SIZES = [65_537, 131_101, 262_147, 524_309, 1_048_583, 2_097_169, 4_194_319, 8_388_617, 16_777_259] as const;

const LARGEST = MAGLEV_SIZES[MAGLEV_SIZES.length - 1] ?? 65_537;
const OFFSET_SEED = 0x6d61676c; // "magl"
const SKIP_SEED = 0x65762121; // "ev!!"
const KEY_SEED = 0x6b657921; // "key!"

/**
 * Consistent hashing by client address with a Maglev lookup table (Eisenbud et al.,
 * NSDI 2016, as in Envoy): each client maps to a slot, each slot to a backend, and
 * when a backend leaves only its own clients move.
 *
 * ```
 * req:    --a--b--a--c--|   (clients a, b, c; up and candidates [A, B, C])
 * picked: --A--C--A--B--|   (each client always gets the same backend)
 * ```
 *
 * The table, built from `request.up` (the group in service, including full backends):
 * 1. sort the backends by address, so the table does not depend on config order;
 * 2. for backend i, hash its address twice: offset = h₁ mod M, skip = h₂ mod (M − 1) + 1;
 *    its preference list is offset, offset + skip, offset + 2·skip, … (mod M), which
 *    visits every slot as M is prime;
 * 3. fill in rounds: in each round every backend adds its weight to a credit, and
 *    each whose credit reaches the largest weight spends that much to take a turn:
 *    claim the next slot of its list that is still empty. The heaviest backend takes a
 *    turn every round, the others in proportion to their weight; stop when all M
 *    slots are taken.
 * The table is kept per subscription and rebuilt only when the addresses or weights of
 * `request.up` change.
 *
 * For every request:
 * 1. slot = murmur3(client IP) mod M; its backend is the answer if it is a candidate;
 * 2. otherwise (full, or already tried by this connection) probe the following slots,
 *    slot + 1, slot + 2, …, and take the first whose backend is a candidate, so the
 *    client's fallback is fixed and spread like the table itself.
 *
 * ```ts
 * requests$.pipe(maglev()).subscribe(({ backend }) => console.log(backend?.address));
 * requests$.pipe(maglev({ tableSize: 251, onRebuild: (t) => console.log('maglev table for', t.backends.length) }));
 * ```
 */
export function maglev(options: MaglevOptions = {}): Policy {
  const { tableSize, onRebuild } = options;
  if (tableSize !== undefined && !isPrime(tableSize)) {
    throw new PolicyError(`maglev tableSize must be a prime number, not ${tableSize}`);
  }
  const key = options.key ?? clientKey;
  return (source) =>
    defer(() => {
      let table: MaglevTable | undefined; // per subscription: the pool's current table
      let builtFrom: readonly Candidate[] | undefined; // the `up` it was last checked against
      let tableKey = '';
      const tableFor = (up: readonly Candidate[]): MaglevTable => {
        if (table && builtFrom && sameBackends(builtFrom, up)) return table;
        const wanted = groupKey(up);
        if (!table || wanted !== tableKey) {
          table = buildMaglevTable(up, tableSize ?? maglevTableSize(up.length));
          tableKey = wanted;
          onRebuild?.(table);
        }
        builtFrom = up;
        return table;
      };
      return source.pipe(
        map((request): Routed => ({ request, backend: lookupMaglev(tableFor(request.up), request.candidates, murmur3(key(request), KEY_SEED)) })),
      );
    });
}

/** The default table size for a number of backends: at least 100 slots each. */
export function maglevTableSize(backends: number): number {
  return MAGLEV_SIZES.find((size) => size >= 100 * backends) ?? LARGEST;
}

/** Builds the table as `maglev` describes (steps 1 to 3 of the table). */
export function buildMaglevTable(group: readonly Pick<Candidate, 'address' | 'weight'>[], size: number): MaglevTable {
  const backends = group.map(({ address, weight }) => ({ address, weight })).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const entries = new Int32Array(size).fill(-1);
  // Weights are > 0 in any config; a library caller's zero, negative or NaN weight takes no turns.
  const usable = (w: number): number => (w > 0 && Number.isFinite(w) ? w : 0);
  const anyUsable = backends.some((b) => usable(b.weight) > 0);
  const lanes = backends.map((b, index) => ({
    index,
    weight: anyUsable ? usable(b.weight) : 1,
    next: murmur3(b.address, OFFSET_SEED) % size, // the slot this backend tries next
    skip: (murmur3(b.address, SKIP_SEED) % (size - 1)) + 1,
    credit: 0,
  }));
  const heaviest = lanes.reduce((max, lane) => Math.max(max, lane.weight), 0);
  let filled = 0;
  while (filled < size && lanes.length > 0) {
    for (const lane of lanes) {
      lane.credit += lane.weight;
      if (lane.credit < heaviest) continue;
      lane.credit -= heaviest;
      let slot = lane.next;
      while (entries[slot] !== -1) slot = (slot + lane.skip) % size;
      entries[slot] = lane.index;
      lane.next = (slot + lane.skip) % size;
      filled += 1;
      if (filled === size) break;
    }
  }
  return { size, backends, positions: new Map(backends.map((b, i) => [b.address, i])), entries };
}

/** The request steps: the slot's backend if it is a candidate, else the next slot's that is. */
export function lookupMaglev(table: MaglevTable, candidates: readonly Candidate[], keyHash: number): Candidate | undefined {
  if (candidates.length === 0) return undefined;
  const slot = keyHash % table.size;
  const home = table.backends[table.entries[slot] ?? -1]?.address;
  const direct = candidates.find((c) => c.address === home);
  if (direct) return direct;
  // Which table backends are candidates: an array by table index, built only on this path.
  const byIndex = new Array<Candidate | undefined>(table.backends.length);
  let any = false;
  for (const c of candidates) {
    const i = table.positions.get(c.address);
    if (i !== undefined) {
      byIndex[i] = c;
      any = true;
    }
  }
  if (any) {
    for (let step = 1; step < table.size; step += 1) {
      const found = byIndex[table.entries[(slot + step) % table.size] ?? -1];
      if (found) return found;
    }
  }
  // Candidates outside the table (not in `up`, or without a slot): still a fixed choice.
  return candidates[keyHash % candidates.length];
}

function sameBackends(a: readonly Candidate[], b: readonly Candidate[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) {
    if (a[i]?.address !== b[i]?.address || a[i]?.weight !== b[i]?.weight) return false;
  }
  return true;
}

function groupKey(up: readonly Candidate[]): string {
  return up
    .map((b) => `${b.address}\u0000${b.weight}`)
    .sort()
    .join('\u0001');
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d += 1) if (n % d === 0) return false;
  return true;
}
