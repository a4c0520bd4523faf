/** How many buckets a table spreads its keys over. */
const BUCKETS = 64;

/**
 * An immutable map from client key to session, cheap to change: `set` and `delete`
 * return a new map that shares all but one bucket with the old one, so opening or
 * closing a session costs about `BUCKETS + size / BUCKETS` copies instead of `size`.
 * That keeps the session reducer pure without making each new client pay for every
 * client before it. Reads are one hash of the key and one Map lookup.
 */
export class SessionMap<V> {
  private static readonly EMPTY = new SessionMap<never>(new Array<undefined>(BUCKETS).fill(undefined), 0);

  private constructor(
    private readonly buckets: readonly (ReadonlyMap<string, V> | undefined)[],
    /** How many entries the map holds. */
    readonly size: number,
  ) {}

  static empty<V>(): SessionMap<V> {
    return SessionMap.EMPTY;
  }

  get(key: string): V | undefined {
    return this.buckets[bucketOf(key)]?.get(key);
  }

  has(key: string): boolean {
    return this.buckets[bucketOf(key)]?.has(key) ?? false;
  }

  /** A map with `key` set to `value`. */
  set(key: string, value: V): SessionMap<V> {
    return this.setMany([[key, value]]);
  }

  /** A map with every entry set, copying each touched bucket once. */
  setMany(entries: Iterable<readonly [string, V]>): SessionMap<V> {
    let buckets: (ReadonlyMap<string, V> | undefined)[] | undefined;
    const copied = new Set<number>();
    let size = this.size;
    for (const [key, value] of entries) {
      buckets ??= this.buckets.slice();
      const i = bucketOf(key);
      let bucket = buckets[i] as Map<string, V> | undefined;
      if (!copied.has(i)) {
        bucket = new Map(bucket);
        buckets[i] = bucket;
        copied.add(i);
      }
      if (!bucket!.has(key)) size += 1;
      bucket!.set(key, value);
    }
    return buckets ? new SessionMap(buckets, size) : this;
  }

  /** A map without `key`; the same map if it had no such key. */
  delete(key: string): SessionMap<V> {
    const i = bucketOf(key);
    const bucket = this.buckets[i];
    if (!bucket?.has(key)) return this;
    const buckets = this.buckets.slice();
    if (bucket.size === 1) buckets[i] = undefined;
    else {
      const copy = new Map(bucket);
      copy.delete(key);
      buckets[i] = copy;
    }
    return new SessionMap(buckets, this.size - 1);
  }

  *values(): IterableIterator<V> {
    for (const bucket of this.buckets) if (bucket) yield* bucket.values();
  }
}

/** FNV-1a over the key's characters, folded to a bucket index. */
function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}
