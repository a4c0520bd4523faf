import type { AddressList } from '../../config/types.js';
import { RxlbError } from '../../errors.js';
import { formatIPv4, formatIPv6, mappedIPv4, newGroups, parseIPv4, parseIPv6, type Groups } from '../../wire/ip.js';

/**
 * An entry of an address list (`allow`, `deny`, `proxy_trusted`, a route's `source`)
 * that is not an IP address or CIDR block; `index` is its 0-based place in the list.
 */
export class AddressListError extends RxlbError {
  constructor(
    readonly entry: string,
    readonly index: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** One block: an IPv4 range as two numbers, or an IPv6 prefix as 8 groups and a length. */
type Block = { readonly family: 4; readonly first: number; readonly last: number } | { readonly family: 6; readonly groups: Groups; readonly prefix: number };

const ADDRESS_EXAMPLE = 'an IP address or CIDR block such as "10.0.0.0/8", "192.0.2.7", "2001:db8::/32" or "::1"';

/**
 * Reads one entry: an IPv4 or IPv6 address (a block of one) or a CIDR block. An
 * IPv4-mapped IPv6 block of /96 or longer (`::ffff:10.0.0.0/104`) is the IPv4 block it
 * stands for, since clients are matched on their IPv4 address. Gives what is wrong as a
 * string.
 */
export function parseBlock(entry: string): Block | string {
  const slash = entry.indexOf('/');
  const text = slash < 0 ? entry : entry.slice(0, slash);
  if (text.startsWith('[')) return `${JSON.stringify(entry)}: write an IPv6 address without brackets`;
  if (text.includes('%')) return `${JSON.stringify(entry)}: a zone (%) has no place in an address list`;
  const v4 = parseIPv4(text);
  const groups = newGroups();
  const isV6 = v4 < 0 && parseIPv6(text, groups);
  if (v4 < 0 && !isV6) return `${JSON.stringify(entry)} is not ${ADDRESS_EXAMPLE}`;
  const bits = isV6 ? 128 : 32;
  const prefix = slash < 0 ? bits : readPrefix(entry.slice(slash + 1));
  if (prefix < 0 || prefix > bits) return `${JSON.stringify(entry)}: the prefix length of an ${isV6 ? 'IPv6' : 'IPv4'} block is 0 to ${bits}`;
  if (isV6) {
    if (!hostBitsClear(groups, prefix)) return `${JSON.stringify(entry)} has bits set past its /${prefix} prefix; did you mean ${JSON.stringify(`${networkText(groups, prefix)}/${prefix}`)}?`;
    const mapped = mappedIPv4(groups);
    if (mapped >= 0 && prefix >= 96) return v4Block(mapped, prefix - 96);
    return { family: 6, groups, prefix };
  }
  const size = 2 ** (32 - prefix);
  if (v4 % size !== 0) {
    const network = v4 - (v4 % size);
    return `${JSON.stringify(entry)} has bits set past its /${prefix} prefix; did you mean ${JSON.stringify(`${formatIPv4(network)}/${prefix}`)}?`;
  }
  return v4Block(v4, prefix);
}

const v4Block = (network: number, prefix: number): Block => ({ family: 4, first: network, last: network + 2 ** (32 - prefix) - 1 });

/** A decimal prefix length without a leading zero, or -1. */
function readPrefix(text: string): number {
  if (!/^(0|[1-9]\d{0,2})$/.test(text)) return -1;
  return Number(text);
}

function hostBitsClear(groups: Groups, prefix: number): boolean {
  for (let k = 0; k < 8; k += 1) if (((groups[k] ?? 0) & ~groupMask(k, prefix) & 0xffff) !== 0) return false;
  return true;
}

/** The bits of group `k` (0 to 7) that a /prefix keeps, as a 16-bit mask. */
function groupMask(k: number, prefix: number): number {
  const kept = Math.min(16, Math.max(0, prefix - 16 * k));
  return kept === 0 ? 0 : (0xffff << (16 - kept)) & 0xffff;
}

/** The network of `groups` under `prefix`. */
function networkText(groups: Groups, prefix: number): string {
  const network = newGroups();
  for (let k = 0; k < 8; k += 1) network[k] = (groups[k] ?? 0) & groupMask(k, prefix);
  return formatIPv6(network);
}

/**
 * Compiles a list of addresses and CIDR blocks into an {@link AddressList}, whose
 * `matches(address)` says whether a client address is in it. It runs on every
 * connection, so all the work is done here:
 *
 * 1. IPv4 blocks become ranges, sorted and merged, found by binary search;
 * 2. IPv6 blocks stay prefixes, compared group by group (lists are short);
 * 3. a client address is read without allocating (a scratch array per list), an
 *    IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, as a dual-stack socket reports an IPv4
 *    client) as the IPv4 address, and an IPv6 zone (`%eth0`) ignored. An address that
 *    cannot be read matches nothing.
 *
 * Why not Node's `net.BlockList`: it does match mapped addresses against IPv4 rules,
 * but needs the family of each address told apart first, and would bring node:net into
 * a pure module; this is as short, and its cost per call is a scan of the address text.
 *
 * Throws an {@link AddressListError} naming the first bad entry.
 */
export function addressList(entries: readonly string[]): AddressList {
  const v4: [number, number][] = [];
  const v6: { groups: Groups; prefix: number }[] = [];
  entries.forEach((entry, index) => {
    const block = parseBlock(entry);
    if (typeof block === 'string') throw new AddressListError(entry, index, block);
    if (block.family === 4) v4.push([block.first, block.last]);
    else v6.push({ groups: block.groups, prefix: block.prefix });
  });
  const ranges = mergeRanges(v4);
  const firsts = Float64Array.from(ranges, ([first]) => first);
  const lasts = Float64Array.from(ranges, ([, last]) => last);
  const masks = v6.map(({ prefix }) => Uint16Array.from({ length: 8 }, (_, k) => groupMask(k, prefix)));
  const scratch = newGroups();

  const matchesV4 = (address: number): boolean => {
    // the last range starting at or before the address
    let low = 0;
    let high = firsts.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((firsts[mid] ?? 0) <= address) low = mid + 1;
      else high = mid - 1;
    }
    return high >= 0 && address <= (lasts[high] ?? -1);
  };
  const matchesV6 = (groups: Groups): boolean => {
    for (let b = 0; b < v6.length; b += 1) {
      const block = v6[b]?.groups;
      const mask = masks[b];
      if (!block || !mask) continue;
      let k = 0;
      while (k < 8 && ((groups[k] ?? 0) & (mask[k] ?? 0)) === (block[k] ?? 0)) k += 1;
      if (k === 8) return true;
    }
    return false;
  };

  const matches = (address: string): boolean => {
    if (typeof address !== 'string') return false;
    let ip4 = parseIPv4(address);
    if (ip4 < 0) {
      const zone = address.indexOf('%');
      if (!parseIPv6(address, scratch, 0, zone < 0 ? address.length : zone)) return false;
      ip4 = mappedIPv4(scratch);
      if (ip4 < 0) return matchesV6(scratch);
    }
    return matchesV4(ip4);
  };
  return { entries: [...entries], matches };
}

/** Sorted ranges with overlapping and touching ones joined. */
function mergeRanges(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [first, last] of sorted) {
    const top = merged[merged.length - 1];
    if (top && first <= top[1] + 1) top[1] = Math.max(top[1], last);
    else merged.push([first, last]);
  }
  return merged;
}
