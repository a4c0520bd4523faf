import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { ClientHelloReader, readHello, type ClientHelloResult } from '../../src/wire/client-hello.js';
import { alpn, grease, handshake, helloBody, keyShare, padding, records, serverName, supportedVersions, type Extension } from '../unit/wire/hello-builder.js';

/**
 * ClientHellos built at random (extensions in any order, GREASE, with and without SNI and
 * ALPN, cut into records and chunks anywhere, other data after them) give back their
 * server name and protocols; and no bytes whatever make the reader throw, read past a
 * chunk, or answer differently for a different split.
 */

const label = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?$/);
const host = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
const protocol = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 12 });
const others = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 15 }).chain((n) => fc.uint8Array({ maxLength: 2 }).map((d) => grease(n, Buffer.from(d)))),
    fc.constant(supportedVersions),
    fc.uint8Array({ minLength: 32, maxLength: 1200 }).map((k) => keyShare(Buffer.from(k))),
    fc.integer({ min: 0, max: 512 }).map(padding),
    fc.record({ type: fc.integer({ min: 1, max: 0xffff }).filter((t) => t !== 16), data: fc.uint8Array({ maxLength: 40 }).map((d) => Buffer.from(d)) }),
  ),
  { maxLength: 6 },
);

const spec = fc.record({
  sni: fc.option(host, { nil: undefined }),
  alpn: fc.option(fc.array(protocol, { minLength: 1, maxLength: 4 }), { nil: undefined }),
  others,
  sessionId: fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b)),
  noExtensions: fc.boolean(),
});

/** A hello for `s` with its extensions shuffled, cut into records, then followed by `after`. */
const helloBytes = spec.chain((s) => {
  const named: Extension[] = [...(s.sni === undefined ? [] : [serverName(s.sni)]), ...(s.alpn === undefined ? [] : [alpn(s.alpn)])];
  const all = [...named, ...s.others];
  const bare = s.noExtensions && named.length === 0 && s.others.length === 0;
  return fc.record({
    spec: fc.constant(s),
    extensions: fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
    recordSizes: fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 5 }),
    after: fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b)),
    bare: fc.constant(bare),
  });
}).map(({ spec: s, extensions, recordSizes, after, bare }) => {
  const message = handshake(helloBody({ sessionId: s.sessionId, extensions: bare ? undefined : extensions }));
  return { spec: s, bytes: Buffer.concat([records(message, recordSizes), after]), length: records(message, recordSizes).length };
});

const cuts = (length: number): fc.Arbitrary<number[]> => fc.array(fc.integer({ min: 0, max: length }), { maxLength: 10 }).map((c) => [...c].sort((a, b) => a - b));

/** Feeds `bytes` cut at `at`, each chunk a view into a larger buffer of junk after it; checks no chunk changes. */
function feed(bytes: Buffer, at: readonly number[]): ClientHelloResult[] {
  const bounds = [0, ...at, bytes.length];
  const reader = new ClientHelloReader();
  return bounds.slice(1).map((to, i) => {
    const from = bounds[i] ?? 0;
    const room = Buffer.alloc(to - from + 16, 0x16);
    bytes.copy(room, 0, from, to);
    const before = Buffer.from(room);
    const answer = reader.push(room.subarray(0, to - from));
    expect(room.equals(before), 'a chunk was changed').toBe(true);
    return answer;
  });
}

describe('ClientHellos built at random', () => {
  it('give their server name lower-cased and their protocols in order, whatever the records and the split', () => {
    const input = helloBytes.chain((h) => fc.record({ h: fc.constant(h), at: cuts(h.bytes.length) }));
    fc.assert(
      fc.property(input, ({ h, at }) => {
        const answers = feed(h.bytes, at);
        const first = answers.findIndex((a) => a.kind !== 'more');
        expect(answers[first]).toEqual({ kind: 'hello', sni: h.spec.sni?.toLowerCase(), alpn: h.spec.alpn ?? [] });
        // answered by the chunk holding the hello's last byte, not before, not after
        const bounds = [0, ...at, h.bytes.length];
        expect(bounds[first + 1] ?? 0).toBeGreaterThanOrEqual(h.length);
        expect(bounds[first] ?? 0).toBeLessThan(h.length);
      }),
      { numRuns: 400 },
    );
  });
});

describe('any first bytes', () => {
  const valid = helloBytes.map((h) => h.bytes);
  const bytes = fc.oneof(
    fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 })).map(([b, flips]) => {
      const copy = Buffer.from(b);
      for (const [i, mask] of flips) copy[i % copy.length] = (copy[i % copy.length] ?? 0) ^ mask;
      return copy;
    }),
    fc.tuple(valid, fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
    fc.tuple(valid, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([b, n, extra]) => {
      const i = n % (b.length + 1);
      return Buffer.concat([b.subarray(0, i), extra, b.subarray(i)]);
    }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.constantFrom('16030100', '1603010100', '160301010001', '16030101000100'), fc.uint8Array({ maxLength: 300 })).map(([p, b]) => Buffer.concat([Buffer.from(p, 'hex'), b])),
  );

  it('never throw, never read past a chunk, and answer as for the whole buffer, whatever the split', () => {
    const input = bytes.chain((b) => fc.record({ bytes: fc.constant(b), at: cuts(b.length) }));
    fc.assert(
      fc.property(input, ({ bytes: b, at }) => {
        const answers = feed(b, at);
        const whole = new ClientHelloReader().push(b);
        const first = answers.findIndex((a) => a.kind !== 'more');
        if (first < 0) {
          expect(whole).toEqual({ kind: 'more' });
          return;
        }
        expect(answers[first]).toEqual(whole);
        expect(answers.slice(first).every((a) => a === answers[first])).toBe(true);
        if (whole.kind === 'malformed') expect(whole.reason).toMatch(/^TLS ClientHello: [^\r\n]{1,120}$/);
      }),
      { numRuns: 3000 },
    );
  });

  it('readHello never throws on any body', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        expect(['hello', 'malformed']).toContain(readHello(Buffer.from(b)).kind);
      }),
      { numRuns: 2000 },
    );
  });
});
