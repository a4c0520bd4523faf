import fc from 'fast-check';
import './seed.js';
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatIPv4, formatIPv6, newGroups, parseIPv4, parseIPv6 } from '../../src/wire/ip.js';

/**
 * The address reader and writer against Node's own (node:net, libuv): the same text is
 * an address for both, and an address is written as Node writes a socket's address.
 */

const groups = fc.array(fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 });
const v4 = fc.integer({ min: 0, max: 0xffffffff });

/** Text near addresses: their characters in any order, and real ones written every way. */
const addressLike = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFg:.'), maxLength: 45 }),
  groups.map((g) => g.map((n) => n.toString(16)).join(':')),
  groups.map((g) => {
    const a = newGroups();
    a.set(g);
    return formatIPv6(a);
  }),
  v4.map(formatIPv4),
  fc.tuple(v4, fc.constantFrom('::ffff:', '::', '1:2:3:4:5:6:', '0::')).map(([n, prefix]) => `${prefix}${formatIPv4(n)}`),
);

describe('IP addresses from any text', () => {
  it('are IPv4 for parseIPv4 exactly when Node says so', () => {
    fc.assert(
      fc.property(addressLike, (text) => {
        expect(parseIPv4(text) >= 0, text).toBe(isIPv4(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('are IPv6 for parseIPv6 exactly when Node says so', () => {
    fc.assert(
      fc.property(addressLike, (text) => {
        expect(parseIPv6(text, newGroups()), text).toBe(isIPv6(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('are written back as Node writes them, and read back the same', () => {
    fc.assert(
      fc.property(groups, (g) => {
        const a = newGroups();
        a.set(g);
        const text = formatIPv6(a);
        expect(text).toBe(new SocketAddress({ address: text, family: 'ipv6' }).address);
        const back = newGroups();
        expect(parseIPv6(text, back)).toBe(true);
        expect([...back]).toEqual(g);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(v4, (n) => {
        expect(parseIPv4(formatIPv4(n))).toBe(n);
      }),
    );
  });
});
