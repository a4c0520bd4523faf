import fc from 'fast-check';
import './seed.js';
import { from, lastValueFrom, of, tap } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { arrivalOf } from '../../src/streams/door/arrival.js';
import { acceptProxyHeader } from '../../src/streams/door/proxy-accept.js';
import { encodeProxyV1, encodeProxyV2 } from '../../src/wire/proxy-header.js';
import { listener } from '../marble/fixtures.js';

/**
 * The door's PROXY stage over a client's bytes cut into chunks anywhere: a header and
 * the client's data after it give the header's client, and the data reaches the backend
 * whole and in order (what the stage hands on in `preread`, then the chunks it left
 * unread in the socket); any other bytes are refused, never passed on. Whatever the
 * bytes, exactly one arrival comes out.
 */

const front = listener({ proxyProtocol: 'accept' });
const peer = { address: '10.0.0.5', port: 41000 };
const source = { address: '192.0.2.1', port: 56324 };
const destination = { address: '198.51.100.2', port: 443 };

/** `bytes` cut at `cuts` (offsets, any order, repeats allowed). */
function cut(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const c of [...at, bytes.length]) {
    if (c > start) chunks.push(bytes.subarray(start, c));
    start = Math.max(start, c);
  }
  return chunks;
}

/** Runs the stage over `chunks` (then the client's FIN): the arrival, and the chunks it never read. */
async function admit(chunks: readonly Buffer[]) {
  let read = 0;
  const io = { preread$: () => from(chunks).pipe(tap(() => (read += 1))), now: () => 0 };
  const passed = await lastValueFrom(of(arrivalOf({ id: 'c' }, front, peer)).pipe(acceptProxyHeader(front, io)));
  return { passed, unread: chunks.slice(read) };
}

const header = fc.constantFrom(
  encodeProxyV1({ source, destination }),
  encodeProxyV2({ command: 'proxy', transport: 'stream', source, destination }),
  encodeProxyV2({ command: 'proxy', transport: 'stream', source, destination, tlvs: { alpn: 'h2', uniqueId: Buffer.alloc(32, 1) }, checksum: true }),
);
const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 12 });

describe('acceptProxyHeader over chunks cut anywhere', () => {
  it("takes the header's client, and forwards the data after it whole and in order", async () => {
    await fc.assert(
      fc.asyncProperty(header, fc.uint8Array({ maxLength: 200 }), cuts, async (head, data, at) => {
        const { passed, unread } = await admit(cut(Buffer.concat([head, data]), at));
        expect(passed.refused).toBeUndefined();
        expect(passed.client).toEqual(source);
        expect(Buffer.concat([passed.preread ?? Buffer.alloc(0), ...unread]).equals(Buffer.from(data))).toBe(true);
        expect(passed.preread?.length).not.toBe(0);
      }),
    );
  });

  it('refuses any other bytes (garbage, a header cut short, a header mutated) with bad_header, handing nothing on', async () => {
    const mutated = fc.tuple(header, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([h, i, x]) => {
      const copy = Buffer.from(h);
      const k = i % copy.length;
      copy[k] = (copy[k] ?? 0) ^ x;
      return copy;
    });
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.tuple(header, fc.nat()).map(([h, n]) => h.subarray(0, n % h.length)),
      mutated,
    );
    await fc.assert(
      fc.asyncProperty(bytes, cuts, async (input, at) => {
        const { passed } = await admit(cut(input, at));
        // a mutation can leave a valid header (a port, an address byte): then it is one
        if (passed.refused === undefined) {
          expect(passed.preread).toBeUndefined();
          return;
        }
        expect(passed.refused).toBe('bad_header');
        expect(passed.preread).toBeUndefined();
        expect(passed.client).toBe(passed.peer);
        expect(typeof passed.detail).toBe('string');
      }),
    );
  });
});
