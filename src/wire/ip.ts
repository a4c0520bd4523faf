/**
 * IP address text, read and written without node:net, so that the wire formats and the
 * address matchers stay pure. Reading walks character codes and allocates nothing: it
 * runs for every connection of a listener with allow/deny lists or PROXY headers.
 */

/** The eight 16-bit groups of an IPv6 address, as {@link parseIPv6} fills them. */
export type Groups = Uint16Array;

/** A scratch array for {@link parseIPv6}: reuse one per caller rather than one per call. */
export const newGroups = (): Groups => new Uint16Array(8);

/**
 * The dotted-quad IPv4 address in `text[start, end)` as an unsigned 32-bit number, or -1
 * when it is not exactly four decimal numbers from 0 to 255. A number with a leading zero
 * (`010`) is refused: some readers take it as octal, so it cannot mean one address.
 */
export function parseIPv4(text: string, start = 0, end = text.length): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits += 1;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots += 1;
    } else return -1;
  }
  return digits > 0 && dots === 3 ? value * 256 + part : -1;
}

/** The value of a hexadecimal digit's character code, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Reads the IPv6 address in `text[start, end)` into `groups` (eight 16-bit groups) and
 * says whether it is one: one to four hex digits per group, at most one `::` standing for
 * one or more zero groups, and optionally a dotted IPv4 address as the last 32 bits
 * (`::ffff:192.0.2.1`). No zone (`%eth0`): callers cut it off. On `false`, `groups` holds
 * junk.
 */
export function parseIPv6(text: string, groups: Groups, start = 0, end = text.length): boolean {
  let count = 0;
  let gap = -1;
  let i = start;
  if (text.charCodeAt(i) === 58) {
    if (text.charCodeAt(i + 1) !== 58 || end - start < 2) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    if (count === 8) return false;
    let value = 0;
    let j = i;
    for (let digit = hexValue(text.charCodeAt(j)); j < end && digit >= 0; digit = hexValue(text.charCodeAt(j))) {
      if (j - i === 4) return false;
      value = value * 16 + digit;
      j += 1;
    }
    if (j < end && text.charCodeAt(j) === 46) {
      const v4 = count <= 6 ? parseIPv4(text, i, end) : -1;
      if (v4 < 0) return false;
      groups[count] = Math.floor(v4 / 65_536);
      groups[count + 1] = v4 % 65_536;
      count += 2;
      break;
    }
    if (j === i) return false;
    groups[count] = value;
    count += 1;
    if (j === end) break;
    if (text.charCodeAt(j) !== 58 || j + 1 === end) return false;
    j += 1;
    if (text.charCodeAt(j) === 58) {
      if (gap >= 0) return false;
      gap = count;
      j += 1;
    }
    i = j;
  }
  if (gap < 0) return count === 8;
  if (count === 8) return false;
  // slide the groups after `::` to the end, zeros in between
  const after = count - gap;
  for (let k = after - 1; k >= 0; k -= 1) groups[8 - after + k] = groups[gap + k] ?? 0;
  for (let k = gap; k < 8 - after; k += 1) groups[k] = 0;
  return true;
}

/** The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) stands for, or -1. */
export function mappedIPv4(groups: Groups): number {
  return groups[5] === 0xffff && zeroPrefix(groups) ? (groups[6] ?? 0) * 65_536 + (groups[7] ?? 0) : -1;
}

/** Whether the first five groups are zero. */
function zeroPrefix(groups: Groups): boolean {
  for (let k = 0; k < 5; k += 1) if (groups[k] !== 0) return false;
  return true;
}

/** `a.b.c.d` from an unsigned 32-bit number. */
export function formatIPv4(value: number): string {
  return `${Math.floor(value / 16_777_216) % 256}.${Math.floor(value / 65_536) % 256}.${Math.floor(value / 256) % 256}.${value % 256}`;
}

/**
 * The canonical text of an IPv6 address (RFC 5952), exactly as Node writes a socket's
 * address: lower-case groups without leading zeros, the longest run of two or more zero
 * groups (the first of equals) as `::`, an IPv4-mapped address as `::ffff:a.b.c.d`, and
 * (as libuv does) an old IPv4-compatible one, six zero groups then a non-zero seventh,
 * as `::a.b.c.d`. So an address from a PROXY header and one from a socket compare equal.
 */
export function formatIPv6(groups: Groups): string {
  const mapped = mappedIPv4(groups);
  if (mapped >= 0) return `::ffff:${formatIPv4(mapped)}`;
  if (groups[5] === 0 && groups[6] !== 0 && zeroPrefix(groups)) return `::${formatIPv4((groups[6] ?? 0) * 65_536 + (groups[7] ?? 0))}`;
  let bestStart = -1;
  let bestLength = 1;
  for (let k = 0; k < 8; ) {
    if (groups[k] !== 0) {
      k += 1;
      continue;
    }
    let run = k;
    while (run < 8 && groups[run] === 0) run += 1;
    if (run - k > bestLength) [bestStart, bestLength] = [k, run - k];
    k = run;
  }
  let text = '';
  for (let k = 0; k < 8; k += 1) {
    if (k === bestStart) {
      text += '::';
      k += bestLength - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += (groups[k] ?? 0).toString(16);
  }
  return text;
}

/** The 16 bytes at `offset` of `bytes` as IPv6 groups, into `groups`. */
export function readIPv6(bytes: Uint8Array, offset: number, groups: Groups): Groups {
  for (let k = 0; k < 8; k += 1) groups[k] = (bytes[offset + 2 * k] ?? 0) * 256 + (bytes[offset + 2 * k + 1] ?? 0);
  return groups;
}

/** An address read from text: its family and value, an IPv4-mapped IPv6 address as IPv4. */
export type ParsedIp = { readonly family: 4; readonly v4: number } | { readonly family: 6; readonly groups: Groups };

/**
 * Reads an IPv4 or IPv6 address (an IPv6 zone such as `%eth0` is ignored; an
 * IPv4-mapped address is IPv4), or undefined. Allocates its answer: for config time
 * and once-per-connection work, not for per-byte loops.
 */
export function parseIp(text: string): ParsedIp | undefined {
  const v4 = parseIPv4(text);
  if (v4 >= 0) return { family: 4, v4 };
  const groups = newGroups();
  const zone = text.indexOf('%');
  if (!parseIPv6(text, groups, 0, zone < 0 ? text.length : zone)) return undefined;
  const mapped = mappedIPv4(groups);
  return mapped >= 0 ? { family: 4, v4: mapped } : { family: 6, groups };
}
