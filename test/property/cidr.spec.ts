import fc from 'fast-check';
import './seed.js';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { addressList, AddressListError } from '../../src/streams/door/cidr.js';

/**
 * Address lists against Node's `net.BlockList` on the cases where both mean the same
 * (rxlb keeps IPv6 blocks that cover IPv4-mapped space, such as `::/0`, to IPv6
 * clients; BlockList lets them match IPv4 ones too, so the generated IPv6 blocks stay out
 * of that space), and any text as a list entry: an AddressListError naming it, or a list.
 */

const ip4 = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const v4Network = (n: number, prefix: number): number => n - (n % 2 ** (32 - prefix));

const v4Block = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })).map(([n, p]) => ({ text: `${ip4(v4Network(n, p))}/${p}`, base: v4Network(n, p), prefix: p }));
const groups = fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 })).map(([g, rest]) => [g, ...rest]);
const v6Block = fc.tuple(groups, fc.integer({ min: 16, max: 128 })).map(([g, p]) => {
  const masked = g.map((value, k) => {
    const kept = Math.min(16, Math.max(0, p - 16 * k));
    return kept === 0 ? 0 : value & ((0xffff << (16 - kept)) & 0xffff);
  });
  return { text: `${masked.map((x) => x.toString(16)).join(':')}/${p}`, groups: masked, prefix: p };
});
const mappedBlock = v4Block.map((b) => ({ text: `::ffff:${ip4(b.base)}/${96 + b.prefix}`, base: b.base, prefix: b.prefix }));

const lists = fc.record({ v4: fc.array(v4Block, { maxLength: 5 }), v6: fc.array(v6Block, { maxLength: 4 }), mapped: fc.array(mappedBlock, { maxLength: 2 }) });

/** Addresses in, at the edges of and near the blocks, in several spellings, and junk. */
const addressesFor = (l: typeof lists) =>
  l.chain((list) => {
    const v4s = [...list.v4, ...list.mapped];
    const near4 = v4s.length === 0 ? fc.integer({ min: 0, max: 0xffffffff }) : fc.tuple(fc.constantFrom(...v4s), fc.integer({ min: -2, max: 2 }), fc.boolean()).map(([b, d, end]) => {
      const n = (end ? b.base + 2 ** (32 - b.prefix) - 1 : b.base) + d;
      return Math.min(0xffffffff, Math.max(0, n));
    });
    const v4text = fc.oneof(near4, fc.integer({ min: 0, max: 0xffffffff })).chain((n) => fc.constantFrom(ip4(n), `::ffff:${ip4(n)}`, `::ffff:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`, `::${ip4(n)}`));
    const near6 =
      list.v6.length === 0
        ? groups
        : fc.tuple(fc.constantFrom(...list.v6), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 0xffff })).map(([b, k, v]) => b.groups.map((g, i) => (i === k ? v : g)));
    const v6text = fc.oneof(near6, groups).chain((g) => fc.constantFrom(g.map((x) => x.toString(16)).join(':'), `${g.map((x) => x.toString(16).toUpperCase()).join(':')}%eth0`));
    return fc.record({ list: fc.constant(list), addresses: fc.array(fc.oneof(v4text, v6text, fc.constantFrom('', 'localhost', '1.2.3', '::g', '10.0.0.1:80')), { minLength: 1, maxLength: 20 }) });
  });

describe('address lists', () => {
  it('match what net.BlockList matches', () => {
    fc.assert(
      fc.property(addressesFor(lists), ({ list, addresses }) => {
        const entries = [...list.v4, ...list.v6, ...list.mapped].map((b) => b.text);
        const oracle = new BlockList();
        for (const b of list.v4) oracle.addSubnet(ip4(b.base), b.prefix, 'ipv4');
        for (const b of list.mapped) oracle.addSubnet(ip4(b.base), b.prefix, 'ipv4');
        for (const b of list.v6) oracle.addSubnet(b.text.split('/')[0] ?? '', b.prefix, 'ipv6');
        const compiled = addressList(entries);
        for (const address of addresses) {
          const bare = address.split('%')[0] ?? '';
          const expected = isIPv4(address) ? oracle.check(address, 'ipv4') : isIPv6(bare) ? oracle.check(bare, 'ipv6') : false;
          expect(compiled.matches(address), `${address} in [${entries.join(', ')}]`).toBe(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('from any text: an AddressListError naming the entry on one line, or a list', () => {
    const entry = fc.oneof(
      fc.string({ maxLength: 24 }),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef:./%[]'), maxLength: 30 }),
      v4Block.map((b) => b.text),
      v6Block.map((b) => b.text),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), (entries) => {
        try {
          const list = addressList(entries);
          expect(list.entries).toEqual(entries);
        } catch (err) {
          expect(err).toBeInstanceOf(AddressListError);
          if (!(err instanceof AddressListError)) return;
          expect(entries[err.index]).toBe(err.entry);
          expect(err.message).toMatch(/^[^\r\n]+$/);
          expect(err.message).toContain(JSON.stringify(err.entry));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
