import { readFileSync } from 'node:fs';

/**
 * The process's soft limit on open files (`ulimit -n`), read from /proc on Linux;
 * undefined where it cannot be read or is unlimited.
 */
export function openFileLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  const n = Number(soft);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * How many connections fit in `limit` descriptors, as HAProxy derives `maxconn` from
 * `ulimit -n`: two per connection (client and backend), after a reserve for listeners,
 * the log, health checks and name lookups. Past it, a new connection is refused as
 * `limit`, which is logged and counted, rather than failing to accept or connect: on
 * Linux a failed accept is not even reported (libuv closes such clients unseen).
 */
export function connectionCapFor(limit: number): number {
  // Node itself holds about twenty at rest (event loop, signals, stdio, the admin API).
  const reserve = limit >= 256 ? 64 : Math.ceil(limit / 2);
  return Math.max(1, Math.floor((limit - reserve) / 2));
}
