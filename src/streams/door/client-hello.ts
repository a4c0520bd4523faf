import { type MonoTypeOperatorFunction, Observable, asyncScheduler, mergeMap, of } from 'rxjs';
import { CLIENT_HELLO_MAX_LENGTH, ClientHelloReader, type ClientHelloResult } from '../../wire/client-hello.js';
import type { Arrival, DoorIo } from './arrival.js';

/**
 * The most bytes read without a whole ClientHello before giving up on it: a hello is at
 * most 16 KiB, and this leaves room for the record headers of one split in pieces, but
 * not for a client that dribbles one-byte records to make rxlb hold its bytes.
 */
export const HELLO_READ_LIMIT = 2 * CLIENT_HELLO_MAX_LENGTH;

/**
 * Reads the TLS ClientHello a client sends first, without decrypting or consuming it, for
 * routes on `sni` and `alpn`: the arrival goes on with the hello's server name and ALPN
 * protocols, and with every byte read in `preread` (after any the stages before left
 * there), so the backend gets all of them first and does the handshake itself.
 *
 * ```
 * arrivals:  a------b--------c---------d-------
 * preread:   -h1-h2|                           (a: a hello in two chunks)
 *                   -GET-                      (b: not TLS)
 *                            -h1|              (c: half a hello, then the client's FIN)
 *                                      -h1-- 5s --   (d: half a hello, then nothing)
 * passed:    ---A-----B---------C------------D
 * ```
 * A: `sni` and `alpn` from the hello, `preread` h1+h2; B: no `sni`, `preread` "GET";
 * C, D: no `sni`, `preread` h1. None is refused: a connection without a server name
 * still matches the routes without `sni` and `alpn`, and the listener's `pool`.
 *
 * For each arrival (one already refused passes on untouched):
 * 1. Bytes a stage before left in `preread` (after a PROXY header) are read first; they
 *    may settle it without reading anything more.
 * 2. Then the client's chunks, as they come, within `timeoutMs` (a timer on the async
 *    scheduler, so virtual in tests), until the reader knows: a whole hello gives `sni`
 *    and `alpn`; bytes that are not TLS, a malformed hello or one over 16 KiB (more
 *    than {@link HELLO_READ_LIMIT} bytes without a whole one), the client's FIN, or no
 *    time left give neither. Reading stops there: what comes next waits in the socket
 *    for the copy.
 * 3. A timeout refuses nothing: a client of a protocol where the server speaks first
 *    (SMTP, SSH banners, MySQL) sends nothing until it is answered, and must still reach
 *    the listener's `pool` (after `timeoutMs`; give such protocols a listener of their own).
 *
 * It emits exactly one arrival per arrival. Unsubscribing (the client reset the
 * connection, or rxlb shuts down) stops the reading and the timer.
 */
export function clientHello<C>(io: DoorIo<C>, timeoutMs: number): MonoTypeOperatorFunction<Arrival<C>> {
  return mergeMap((arrival) => (arrival.refused !== undefined ? of(arrival) : readHello$(arrival, io, timeoutMs)));
}

/**
 * One arrival's hello. One observable with one timer rather than an operator chain
 * (`scan`, `takeWhile`, `timeout`): it runs for every connection of such a listener.
 */
function readHello$<C>(arrival: Arrival<C>, io: DoorIo<C>, timeoutMs: number): Observable<Arrival<C>> {
  return new Observable<Arrival<C>>((subscriber) => {
    const reader = new ClientHelloReader();
    const chunks: Buffer[] = [];
    let read = 0;
    let settled = false;
    const settle = (seen: ClientHelloResult | undefined): void => {
      settled = true;
      subscriber.next(learned(arrival, chunks, read, seen));
      subscriber.complete(); // runs the teardown below: no more reading, no timer
    };
    /** Takes a chunk; true when the hello is settled. */
    const take = (chunk: Buffer): boolean => {
      if (settled || chunk.length === 0) return settled;
      chunks.push(chunk);
      read += chunk.length;
      const seen = reader.push(chunk);
      if (seen.kind !== 'more') settle(seen);
      else if (read > HELLO_READ_LIMIT) settle(undefined);
      return settled;
    };
    if (arrival.preread !== undefined && take(arrival.preread)) return undefined;
    const deadline = asyncScheduler.schedule(() => {
      if (!settled) settle(undefined);
    }, timeoutMs);
    const reading = io.preread$(arrival.socket).subscribe({
      next: (chunk) => void take(chunk),
      error: (err: unknown) => subscriber.error(err),
      complete: () => {
        if (!settled) settle(undefined);
      },
    });
    return () => {
      deadline.unsubscribe();
      reading.unsubscribe();
    };
  });
}

/** The arrival with what its first bytes said, and all of them to forward. */
function learned<C>(arrival: Arrival<C>, chunks: readonly Buffer[], read: number, seen: ClientHelloResult | undefined): Arrival<C> {
  const preread = chunks.length === 0 ? arrival.preread : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, read);
  if (seen?.kind !== 'hello') return preread === arrival.preread ? arrival : { ...arrival, preread };
  return {
    ...arrival,
    preread,
    // A PROXY header's authority and ALPN stand when the hello has none.
    sni: seen.sni ?? arrival.sni,
    alpn: seen.alpn.length > 0 ? seen.alpn : arrival.alpn,
  };
}
