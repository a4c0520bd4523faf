import fc from 'fast-check';
import './seed.js';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type Arrival, arrivalOf } from '../../src/streams/door/arrival.js';
import { clientHello } from '../../src/streams/door/client-hello.js';
import { ClientHelloReader } from '../../src/wire/client-hello.js';
import { listener } from '../marble/fixtures.js';
import { alpn, handshake, helloBody, records, serverName } from '../unit/wire/hello-builder.js';

/**
 * The ClientHello stage over random first flights, cut in random chunks: it lets each
 * arrival through exactly once, forwards exactly the bytes it read (all of them, in order,
 * after what was there), reads no chunk after it knows, and learns what the reader says
 * of the whole.
 */

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){1,3}$/);
/** A hello with a name and protocols, in records of random sizes; or random bytes; or a hello cut short. */
const flight = fc.oneof(
  fc.tuple(name, fc.array(fc.constantFrom('h2', 'http/1.1', 'acme-tls/1'), { maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 5 })).map(([sni, protocols, sizes]) =>
    records(handshake(helloBody({ extensions: [serverName(sni), ...(protocols.length > 0 ? [alpn(protocols)] : [])] })), sizes),
  ),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.tuple(name, fc.nat()).map(([sni, cut]) => {
    const whole = records(handshake(helloBody({ extensions: [serverName(sni)] })));
    return whole.subarray(0, cut % whole.length);
  }),
);

/** Cuts `bytes` at the given places (sorted, deduplicated, within it). */
function chunks(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    if (to > from) out.push(bytes.subarray(from, to));
    from = Math.max(from, to);
  }
  return out;
}

describe('clientHello (the door stage)', () => {
  it('passes each arrival once, with every byte it read forwarded in order, and stops reading once it knows', () => {
    fc.assert(
      fc.property(flight, fc.array(fc.nat(), { maxLength: 8 }), fc.uint8Array({ maxLength: 20 }), fc.boolean(), (bytes, cuts, before, fin) => {
        const client = new Subject<Buffer>();
        const sent = chunks(bytes, cuts);
        const left = Buffer.from(before); // what a PROXY header left, if anything
        const arrival = { ...arrivalOf({}, listener({ needsClientHello: true }), { address: '192.0.2.1', port: 1 }), preread: left.length > 0 ? left : undefined };
        const passed: Arrival<object>[] = [];
        let completed = false;
        const arrivals = new Subject<Arrival<object>>();
        arrivals.pipe(clientHello({ preread$: () => client, now: () => 0 }, 60_000)).subscribe({ next: (a) => passed.push(a), complete: () => (completed = true) });
        arrivals.next(arrival);
        arrivals.complete();
        let read = 0;
        for (const chunk of sent) {
          if (!client.observed) break;
          client.next(chunk);
          read += 1;
        }
        if (fin && client.observed) client.complete();
        // what the reader says of everything offered up to where the stage stopped
        const offered = Buffer.concat([left, ...sent.slice(0, read)]);
        const seen = new ClientHelloReader().push(offered);
        const knows = seen.kind !== 'more';
        if (!knows && !fin) {
          // still reading (the timeout would end it): nothing passed yet, and it listens
          expect(passed).toEqual([]);
          expect(client.observed).toBe(true);
          return;
        }
        expect(passed).toHaveLength(1);
        expect(completed).toBe(true);
        expect(client.observed).toBe(false);
        const out = passed[0]!;
        expect(out.preread ?? Buffer.alloc(0)).toEqual(offered);
        expect(out.sni).toBe(seen.kind === 'hello' ? seen.sni : undefined);
        expect(out.alpn).toEqual(seen.kind === 'hello' ? seen.alpn : []);
        expect(out.refused).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});
