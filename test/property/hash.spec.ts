import fc from 'fast-check';
import './seed.js';
import { describe, expect, it } from 'vitest';
import { clientIp, fmix32, murmur3, murmur3Int } from '../../src/operators/policies/hash.js';

describe('murmur3', () => {
  it('matches the reference MurmurHash3 x86_32 vectors', () => {
    const vectors: [string, number, number][] = [
      ['', 0, 0],
      ['', 1, 0x514e28b7],
      ['', 0xffffffff, 0x81f16f39],
      ['hello', 0, 0x248bfa47],
      ['Hello, world!', 1234, 0xfaf6cdb3],
      ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
      ['aaaa', 0x9747b28c, 0x5a97808a],
      ['a', 0x9747b28c, 0x7fa09ea6],
      ['Hello, world!', 0x9747b28c, 0x24884cba],
      ['ππππππππ', 0x9747b28c, 0xd58063c1],
    ];
    for (const [text, seed, hash] of vectors) expect(murmur3(text, seed), `${text} / ${seed}`).toBe(hash);
  });

  it('is an unsigned 32-bit integer for any text and seed', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer(), (text, seed) => {
        const h = murmur3(text, seed);
        expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
        expect(murmur3(text, seed)).toBe(h);
      }),
    );
  });

  it('fills every bucket of a prime table evenly for similar keys (10.0.x.y)', () => {
    const buckets = new Array<number>(101).fill(0);
    for (let i = 0; i < 101_000; i += 1) {
      const slot = murmur3(`10.0.${(i >> 8) & 255}.${i & 255}`) % 101;
      buckets[slot] = (buckets[slot] ?? 0) + 1;
    }
    expect(Math.min(...buckets)).toBeGreaterThan(850);
    expect(Math.max(...buckets)).toBeLessThan(1150);
  });

  it('hashes an integer as murmur3 hashes its four bytes, little-endian', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0x7f }), { minLength: 4, maxLength: 4 }), fc.integer(), (bytes, seed) => {
        const [b0 = 0, b1 = 0, b2 = 0, b3 = 0] = bytes;
        expect(murmur3Int(b0 | (b1 << 8) | (b2 << 16) | (b3 << 24), seed)).toBe(murmur3(String.fromCharCode(b0, b1, b2, b3), seed));
      }),
    );
  });

  it('mixes with fmix32 to an unsigned value', () => {
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).not.toBe(1);
    expect(fmix32(-1)).toBeGreaterThan(0);
  });
});

describe('clientIp', () => {
  it('writes IPv4-mapped IPv6 as IPv4 and leaves the rest alone', () => {
    expect(clientIp('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientIp('::FFFF:127.0.0.2')).toBe('127.0.0.2');
    expect(clientIp('10.0.0.1')).toBe('10.0.0.1');
    expect(clientIp('2001:db8::1')).toBe('2001:db8::1');
    expect(clientIp('::ffff:1')).toBe('::ffff:1');
  });
});
