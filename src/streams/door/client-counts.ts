/**
 * Open connections per client address, for `max_connections_per_client`. A client with
 * none open has no entry, so the map holds at most one entry per open connection.
 *
 * Both functions update `counts` in place and hand it back, as the accumulator of a
 * `scan`: they run on every connection.
 */
export type ClientCounts = Map<string, number>;

/**
 * Counts a new connection from `client` when it fits under `max` (0 = unlimited, and
 * still counted, so that a reload that sets a limit finds the connections already open).
 */
export function openConnection(counts: ClientCounts, client: string, max: number): { readonly allowed: boolean; readonly counts: ClientCounts } {
  const open = counts.get(client) ?? 0;
  if (max > 0 && open >= max) return { allowed: false, counts };
  counts.set(client, open + 1);
  return { allowed: true, counts };
}

/** Counts a connection from `client` as closed; one it never counted is ignored. */
export function closeConnection(counts: ClientCounts, client: string): ClientCounts {
  const open = counts.get(client) ?? 0;
  if (open <= 1) counts.delete(client);
  else counts.set(client, open - 1);
  return counts;
}
