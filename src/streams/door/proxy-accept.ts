import { type MonoTypeOperatorFunction, type Observable, defer, first, map, mergeMap, of, timeout } from 'rxjs';
import { formatDuration } from '../../config/duration.js';
import type { ListenerConfig } from '../../config/types.js';
import { type ProxyDecodeResult, type ProxyHeader, ProxyHeaderDecoder } from '../../wire/proxy-header.js';
import type { Arrival, DoorIo, DoorRefusal } from './arrival.js';

/**
 * Reads the PROXY header (v1 or v2, told apart by its first bytes) that a balancer in
 * front sends before its client's first byte, for a listener with
 * `proxy_protocol = "accept"`. The header's source is the client from then on.
 *
 * ```
 * arrivals:  a-------b--------c------
 * preread:   -h1-h2|                         (a: a header in two chunks)
 *                    -GET|                   (b: no header)
 *                             -PR-- 5s --    (c: half a header, then nothing)
 * passed:    --A--------B----------------C   A: client from the header, B: bad_header, C: preread_timeout
 * ```
 *
 * For each arrival (one already refused passes on untouched):
 * 1. A peer outside `proxy_trusted` (when set) is refused `denied` before a byte is read.
 * 2. The client's bytes are fed chunk by chunk to a {@link ProxyHeaderDecoder}, within
 *    `preread_timeout` (rxjs `timeout`, so virtual in tests):
 *    - a whole header: the arrival goes on with `client` its source (the TCP peer for
 *      LOCAL, v1 `UNKNOWN` and addresses it cannot carry), `destination` its
 *      destination, `sni` and `alpn` from the authority and ALPN TLVs, `uniqueId` (hex),
 *      and `preread` what followed the header in its chunk: the client's first bytes,
 *      forwarded to the backend intact. Reading stops there: what comes next waits in
 *      the socket for the copy.
 *    - not a header, a malformed one, or the client's FIN before a whole one:
 *      `bad_header`; no time left: `preread_timeout`.
 * 3. A refusal carries `detail`, what was wrong in a few words, for the connection's
 *    record. None of the refused bytes goes anywhere.
 *
 * It emits exactly one arrival per arrival. Unsubscribing (the client reset the
 * connection, or rxlb shuts down) stops reading and the timer.
 *
 * Why rxlb's own decoder (`src/wire`) and not `proxy-protocol-js`: that one parses a
 * whole buffer only, so split headers must be gathered and parsed again at each chunk,
 * and it takes a v2 header whose block is cut short, leaves TLVs in the client's data,
 * and accepts any text as a v1 address; measured on the same machine, it is no faster
 * where it is correct (see the commit that says so).
 */
export function acceptProxyHeader<C>(listener: ListenerConfig, io: DoorIo<C>): MonoTypeOperatorFunction<Arrival<C>> {
  const trusted = listener.proxyTrusted;
  const timeoutMs = listener.prereadTimeoutMs;
  return (arrivals) =>
    arrivals.pipe(
      mergeMap((arrival) => {
        if (arrival.refused !== undefined) return of(arrival);
        if (trusted !== undefined && !trusted.matches(arrival.peer.address)) return of(refused(arrival, 'denied', UNTRUSTED));
        return readHeader$(arrival, io, timeoutMs);
      }),
    );
}

const UNTRUSTED = 'a PROXY header from a peer not in proxy_trusted';

/**
 * One arrival's header: the chunks go to the decoder until it answers, and `first`
 * stops reading at once (even from a source that hands over several chunks in one go),
 * so no byte after the header's chunk is taken from the socket.
 */
function readHeader$<C>(arrival: Arrival<C>, io: DoorIo<C>, timeoutMs: number): Observable<Arrival<C>> {
  return defer(() => {
    const decoder = new ProxyHeaderDecoder();
    let received = 0;
    let head: Buffer | undefined;
    return io.preread$(arrival.socket).pipe(
      map((chunk) => {
        received += chunk.length;
        head ??= chunk;
        return decoder.push(chunk);
      }),
      // the client's FIN before an answer comes out as ENDED
      first((got) => got.kind !== 'more', ENDED),
      map((got) => (got.kind === 'more' ? refused(arrival, 'bad_header', `the client closed after ${bytes(received)}, before a whole PROXY header`) : decoded(arrival, got, head ?? EMPTY))),
      timeout({
        first: timeoutMs,
        with: () => of(refused(arrival, 'preread_timeout', `no whole PROXY header within ${formatDuration(timeoutMs)} (${bytes(received)} received)`)),
      }),
    );
  });
}

const ENDED: ProxyDecodeResult = Object.freeze({ kind: 'more' });
const EMPTY = Buffer.alloc(0);

/** The arrival after its header was read, or refused for what was read instead. */
function decoded<C>(arrival: Arrival<C>, got: Exclude<ProxyDecodeResult, { kind: 'more' }>, head: Buffer): Arrival<C> {
  switch (got.kind) {
    case 'header':
      return admitted(arrival, got.header, got.rest);
    case 'malformed':
      return refused(arrival, 'bad_header', got.reason);
    case 'not-proxy':
      return refused(arrival, 'bad_header', `not a PROXY header: the client sent ${shown(head)} first; does the balancer in front send one?`);
  }
}

/** What the header says, on the arrival. */
function admitted<C>(arrival: Arrival<C>, header: ProxyHeader, rest: Buffer): Arrival<C> {
  const { source, destination, tlvs } = header;
  return {
    ...arrival,
    // LOCAL, UNKNOWN, AF_UNSPEC and AF_UNIX headers carry no address: the peer stays the client
    client: source ?? arrival.client,
    destination: destination ?? arrival.destination,
    preread: rest.length > 0 ? rest : undefined,
    sni: tlvs.authority === undefined ? arrival.sni : tlvs.authority.toLowerCase(),
    alpn: tlvs.alpn === undefined ? arrival.alpn : [tlvs.alpn],
    uniqueId: tlvs.uniqueId === undefined ? arrival.uniqueId : tlvs.uniqueId.toString('hex'),
  };
}

function refused<C>(arrival: Arrival<C>, reason: DoorRefusal, detail: string): Arrival<C> {
  return { ...arrival, refused: reason, detail };
}

const bytes = (n: number): string => (n === 1 ? '1 byte' : `${n} bytes`);

/** How many of a client's first bytes a refusal shows. */
const SHOWN_BYTES = 16;

/**
 * The first bytes a client sent, quoted, as something a log line can hold whatever they
 * are: printable ASCII as it is, CR, LF and tab escaped, any other byte as `\xNN`.
 */
export function shown(chunk: Buffer): string {
  let text = '"';
  const end = Math.min(chunk.length, SHOWN_BYTES);
  for (let i = 0; i < end; i += 1) {
    const c = chunk[i] ?? 0;
    if (c === 0x0d) text += '\\r';
    else if (c === 0x0a) text += '\\n';
    else if (c === 0x09) text += '\\t';
    else if (c === 0x22 || c === 0x5c) text += `\\${String.fromCharCode(c)}`;
    else if (c >= 0x20 && c <= 0x7e) text += String.fromCharCode(c);
    else text += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return chunk.length > SHOWN_BYTES ? `${text}"...` : `${text}"`;
}
