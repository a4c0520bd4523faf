import fc from 'fast-check';
import './seed.js';
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatIPv4 } from '../../src/wire/ip.js';
import { encodeProxyV1, encodeProxyV2, examineProxyHeader, ProxyHeaderDecoder, V2_SIGNATURE, type ProxyV2Fields } from '../../src/wire/proxy-header.js';
import type { ProxyAddress, ProxyDecodeResult, ProxyHeader, ProxyTlv } from '../../src/wire/proxy-types.js';

/**
 * PROXY headers of both versions, fed in chunks split anywhere: what is encoded reads
 * back the same (addresses in canonical form), the client's bytes after the header are
 * handed back whole, and no input whatever makes the decoder throw, read past what it
 * was given, or answer differently for a different split.
 */

const v4 = fc.integer({ min: 0, max: 0xffffffff }).map(formatIPv4);
const v6 = fc
  .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .chain((g) => fc.constantFrom(g.map((n) => n.toString(16)).join(':'), g.map((n) => n.toString(16).toUpperCase().padStart(4, '0')).join(':')));
const address = fc.oneof(
  { weight: 3, arbitrary: v4 },
  { weight: 3, arbitrary: v6 },
  { weight: 2, arbitrary: v4.map((a) => `::ffff:${a}`) },
  { weight: 1, arbitrary: fc.constantFrom('localhost', '', 'example.com', 'fe80::1%eth0', '::1', '1.2.3.04') },
);
const port = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 65_535 }) }, fc.constantFrom(-1, 65_536, 1.5));
const end: fc.Arbitrary<ProxyAddress> = fc.record({ address, port });

/** How Node writes an address; its IPv4 form when it has one. */
function canonical(a: ProxyAddress): { v4?: string; v6?: string } | undefined {
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65_535) return undefined;
  if (isIPv4(a.address)) return { v4: a.address };
  const bare = a.address.split('%')[0] ?? '';
  if (!isIPv6(bare)) return undefined;
  const v6text = new SocketAddress({ address: bare, family: 'ipv6' }).address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v6text)?.[1];
  return mapped === undefined ? { v6: v6text } : { v4: mapped, v6: v6text };
}

/** The family and addresses a header for these ends must carry, worked out with node:net. */
function expectedEnds(source: ProxyAddress, destination: ProxyAddress): Pick<ProxyHeader, 'family' | 'source' | 'destination'> {
  const from = canonical(source);
  const to = canonical(destination);
  if (from?.v4 !== undefined && to?.v4 !== undefined) {
    return { family: 'ipv4', source: { address: from.v4, port: source.port }, destination: { address: to.v4, port: destination.port } };
  }
  if (from?.v6 !== undefined && to?.v6 !== undefined) {
    return { family: 'ipv6', source: { address: from.v6, port: source.port }, destination: { address: to.v6, port: destination.port } };
  }
  return { family: 'unspec', source: undefined, destination: undefined };
}

/** Cut points anywhere in `length` bytes, empty chunks included. */
const cuts = (length: number): fc.Arbitrary<number[]> => fc.array(fc.integer({ min: 0, max: length }), { maxLength: 8 }).map((c) => [...c].sort((a, b) => a - b));

/**
 * Feeds `bytes` cut at `at`, each chunk a view into a larger buffer whose next bytes are
 * junk: a decoder that read past a chunk would see them. Gives every answer and the
 * index of the chunk that gave the first one other than `more`.
 */
function feed(bytes: Buffer, at: readonly number[]): { answers: ProxyDecodeResult[]; chunks: Buffer[] } {
  const bounds = [0, ...at, bytes.length];
  const chunks = bounds.slice(1).map((to, i) => {
    const from = bounds[i] ?? 0;
    const room = Buffer.alloc(to - from + 16, 0x0d);
    bytes.copy(room, 0, from, to);
    return room.subarray(0, to - from);
  });
  const decoder = new ProxyHeaderDecoder();
  return { answers: chunks.map((c) => decoder.push(c)), chunks };
}

/** What follows the header, given back: the rest of its last chunk, then every later chunk. */
function clientBytes(answers: readonly ProxyDecodeResult[], chunks: readonly Buffer[]): Buffer | undefined {
  const index = answers.findIndex((a) => a.kind !== 'more');
  const answer = answers[index];
  if (answer?.kind !== 'header') return undefined;
  return Buffer.concat([answer.rest, ...chunks.slice(index + 1)]);
}

const trailing = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b));

describe('PROXY v1 headers', () => {
  it('read back as written, addresses canonical, whatever the split, with the client bytes after them intact', () => {
    const input = fc.tuple(end, end, trailing).chain(([source, destination, data]) => {
      const bytes = Buffer.concat([encodeProxyV1({ source, destination }), data]);
      return fc.record({ source: fc.constant(source), destination: fc.constant(destination), data: fc.constant(data), bytes: fc.constant(bytes), at: cuts(bytes.length) });
    });
    fc.assert(
      fc.property(input, ({ source, destination, data, bytes, at }) => {
        const { answers, chunks } = feed(bytes, at);
        const header = answers.find((a) => a.kind !== 'more');
        const ends = expectedEnds(source, destination);
        const transport = ends.family === 'unspec' ? 'unspec' : 'stream';
        expect(header).toMatchObject({ kind: 'header', length: bytes.length - data.length, header: { version: 1, command: 'proxy', transport, ...ends, tlvs: { others: [] } } });
        expect(clientBytes(answers, chunks)).toEqual(data);
      }),
      { numRuns: 500 },
    );
  });
});

const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 20 });
const utf8 = fc.string({ unit: 'grapheme', maxLength: 20 });
const raw: fc.Arbitrary<ProxyTlv> = fc.record({
  type: fc.integer({ min: 0, max: 255 }).filter((t) => ![0x01, 0x02, 0x03, 0x05].includes(t)),
  value: fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b)),
});
const tlvs = fc.record(
  {
    alpn: latin1,
    authority: utf8,
    uniqueId: fc.uint8Array({ maxLength: 128 }).map((b) => Buffer.from(b)),
    others: fc.array(raw, { maxLength: 4 }),
  },
  { requiredKeys: [] },
);
const v2Fields: fc.Arbitrary<ProxyV2Fields> = fc.record({
  command: fc.constantFrom('proxy', 'proxy', 'proxy', 'local') as fc.Arbitrary<'proxy' | 'local'>,
  transport: fc.constantFrom('stream', 'dgram') as fc.Arbitrary<'stream' | 'dgram'>,
  source: end,
  destination: end,
  tlvs,
  checksum: fc.boolean(),
});

describe('PROXY v2 headers', () => {
  it('read back as written, TLVs included, whatever the split, with the client bytes after them intact', () => {
    const input = fc.tuple(v2Fields, trailing).chain(([fields, data]) => {
      const bytes = Buffer.concat([encodeProxyV2(fields), data]);
      return fc.record({ fields: fc.constant(fields), data: fc.constant(data), bytes: fc.constant(bytes), at: cuts(bytes.length) });
    });
    fc.assert(
      fc.property(input, ({ fields, data, bytes, at }) => {
        const { answers, chunks } = feed(bytes, at);
        const answer = answers.find((a) => a.kind !== 'more');
        expect(answer?.kind).toBe('header');
        if (answer?.kind !== 'header') return;
        expect(answer.length).toBe(bytes.length - data.length);
        expect(clientBytes(answers, chunks)).toEqual(data);
        if (fields.command === 'local') {
          expect(answer.header).toEqual({ version: 2, command: 'local', family: 'unspec', transport: 'unspec', source: undefined, destination: undefined, tlvs: { others: [] } });
          return;
        }
        const ends = expectedEnds(fields.source ?? { address: '', port: 0 }, fields.destination ?? { address: '', port: 0 });
        const { others: decodedOthers, ...named } = answer.header.tlvs;
        const crc = fields.checksum ? decodedOthers.slice(-1) : [];
        expect(answer.header).toMatchObject({ version: 2, command: 'proxy', transport: ends.family === 'unspec' ? 'unspec' : fields.transport, ...ends });
        expect(named).toEqual({ alpn: fields.tlvs?.alpn, authority: fields.tlvs?.authority, uniqueId: fields.tlvs?.uniqueId });
        expect(decodedOthers).toEqual([...(fields.tlvs?.others ?? []), ...crc]);
        expect(crc.map((t) => [t.type, t.value.length])).toEqual(fields.checksum ? [[0x03, 4]] : []);
      }),
      { numRuns: 500 },
    );
  });
});

describe('any first bytes', () => {
  const valid = fc.oneof(
    fc.tuple(end, end).map(([source, destination]) => encodeProxyV1({ source, destination })),
    v2Fields.map(encodeProxyV2),
  );
  /** Valid headers cut, flipped, with bytes inserted or removed; and junk, with or without a signature in front. */
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
    fc.tuple(valid, fc.nat(), fc.nat({ max: 8 })).map(([b, n, k]) => {
      const i = n % (b.length + 1);
      return Buffer.concat([b.subarray(0, i), b.subarray(i + k)]);
    }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.constantFrom(Buffer.from('PROXY '), Buffer.from('PROXY TCP4 '), Buffer.from('PROXY TCP6 '), Buffer.concat([V2_SIGNATURE, Buffer.from([0x21])])), fc.uint8Array({ maxLength: 300 })).map(([p, b]) =>
      Buffer.concat([p, b]),
    ),
    fc.tuple(fc.constantFrom('PROXY TCP4 ', 'PROXY TCP6 ', 'PROXY UNKNOWN '), fc.string({ unit: fc.constantFrom(...'0123456789abcdef:. \r\n'), maxLength: 110 })).map(([p, s]) =>
      Buffer.from(p + s, 'latin1'),
    ),
  );

  it('never throw, never read past a chunk, and answer as for the whole buffer, whatever the split', () => {
    const input = bytes.chain((b) => fc.record({ bytes: fc.constant(b), at: cuts(b.length) }));
    fc.assert(
      fc.property(input, ({ bytes: b, at }) => {
        const { answers, chunks } = feed(b, at);
        const first = answers.findIndex((a) => a.kind !== 'more');
        const whole = examineProxyHeader(b);
        if (first < 0) {
          expect(whole).toEqual({ kind: 'more' });
          return;
        }
        const answer = answers[first];
        // once answered, the same answer
        expect(answers.slice(first).every((a) => a === answer)).toBe(true);
        if (answer?.kind === 'header' && whole.kind === 'header') {
          expect({ header: answer.header, length: answer.length }).toEqual({ header: whole.header, length: whole.length });
          expect(Buffer.concat([answer.rest, ...chunks.slice(first + 1)])).toEqual(b.subarray(whole.length));
        } else expect(answer).toEqual(whole);
        if (answer?.kind === 'malformed') {
          expect(answer.reason).toMatch(/^PROXY v[12]: [^\r\n]+$/);
          expect(answer.reason.length).toBeLessThan(200);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
