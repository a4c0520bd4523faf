import { formatIPv4, formatIPv6, newGroups, parseIPv4, parseIPv6 } from './ip.js';
import { pairOf } from './proxy-address.js';
import { malformed, MORE, NO_TLVS, NOT_PROXY, type ProxyAddress, type ProxyExamined, type ProxyHeader } from './proxy-types.js';

/** The longest v1 line, CRLF included: `PROXY UNKNOWN` with two full IPv6 addresses and ports. */
export const V1_MAX_LENGTH = 107;

const PREFIX = 'PROXY ';
const PROTOCOLS = ['TCP4 ', 'TCP6 ', 'UNKNOWN'] as const;
const CR = 13;
const LF = 10;

/**
 * The v1 line for a connection from `source` to `destination`: `PROXY TCP4 ...` when
 * both are IPv4 (or IPv4-mapped IPv6), `PROXY TCP6 ...` when both are IPv6, and
 * `PROXY UNKNOWN` when they cannot be written together (one of each family, or not IP
 * addresses), which tells the server to use the connection's own addresses.
 */
export function encodeProxyV1({ source, destination }: { readonly source: ProxyAddress; readonly destination: ProxyAddress }): Buffer {
  const pair = pairOf(source, destination);
  if (pair.family === 'ipv4') {
    return Buffer.from(`PROXY TCP4 ${formatIPv4(pair.source)} ${formatIPv4(pair.destination)} ${source.port} ${destination.port}\r\n`, 'latin1');
  }
  if (pair.family === 'ipv6') {
    return Buffer.from(`PROXY TCP6 ${formatIPv6(pair.source)} ${formatIPv6(pair.destination)} ${source.port} ${destination.port}\r\n`, 'latin1');
  }
  return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
}

/**
 * Looks at the first `n` bytes of a connection, which start with `P`, for a v1 line. It
 * answers `more` only while the bytes so far can still begin a valid line, and refuses
 * as soon as one cannot: a wrong protocol word, a byte that is not printable US-ASCII,
 * a CR or LF alone, or no CRLF within {@link V1_MAX_LENGTH} bytes.
 */
export function examineV1(bytes: Buffer, n = bytes.length): ProxyExamined {
  for (let i = 0; i < PREFIX.length && i < n; i += 1) if (bytes[i] !== PREFIX.charCodeAt(i)) return NOT_PROXY;
  if (n <= PREFIX.length) return MORE;
  if (!PROTOCOLS.some((word) => startsLike(bytes, n, PREFIX.length, word))) {
    return malformed('PROXY v1: the protocol is not TCP4, TCP6 or UNKNOWN');
  }
  const limit = Math.min(n, V1_MAX_LENGTH);
  for (let i = PREFIX.length; i < limit; i += 1) {
    const c = bytes[i] ?? 0;
    if (c === CR) {
      if (i + 1 === V1_MAX_LENGTH) break;
      if (i + 1 === n) return MORE;
      return bytes[i + 1] === LF ? parseLine(bytes, i) : malformed('PROXY v1: a CR not followed by LF');
    }
    if (c === LF) return malformed('PROXY v1: a line ending in LF without CR');
    if (c < 0x20 || c > 0x7e) return malformed(`PROXY v1: byte 0x${c.toString(16).padStart(2, '0')} at offset ${i} is not printable US-ASCII`);
  }
  return n >= V1_MAX_LENGTH ? malformed(`PROXY v1: no CRLF within the first ${V1_MAX_LENGTH} bytes`) : MORE;
}

/** Whether `bytes[at, n)` agrees with `word` as far as both go. */
function startsLike(bytes: Buffer, n: number, at: number, word: string): boolean {
  for (let k = 0; k < word.length && at + k < n; k += 1) if (bytes[at + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** The complete line `bytes[0, cr)` followed by CRLF. */
function parseLine(bytes: Buffer, cr: number): ProxyExamined {
  const length = cr + 2;
  const line = bytes.toString('latin1', PREFIX.length, cr);
  if (line === 'UNKNOWN' || line.startsWith('UNKNOWN ')) {
    // the rest of an UNKNOWN line is to be ignored
    const header: ProxyHeader = { version: 1, command: 'proxy', family: 'unspec', transport: 'unspec', source: undefined, destination: undefined, tlvs: NO_TLVS };
    return { kind: 'header', header, length };
  }
  const parts = line.split(' ');
  const [protocol = '', from = '', to = '', fromPort = '', toPort = ''] = parts;
  if (protocol !== 'TCP4' && protocol !== 'TCP6') return malformed('PROXY v1: the protocol is not TCP4, TCP6 or UNKNOWN');
  if (parts.length !== 5 || parts.includes('')) {
    return malformed(`PROXY v1: expected "${protocol} <source> <destination> <source port> <destination port>" with single spaces`);
  }
  const source = readAddress(protocol, from);
  const destination = readAddress(protocol, to);
  const sourcePort = readPort(fromPort);
  const destinationPort = readPort(toPort);
  if (source === undefined) return malformed(`PROXY v1: bad ${protocol} source address ${JSON.stringify(from)}`);
  if (destination === undefined) return malformed(`PROXY v1: bad ${protocol} destination address ${JSON.stringify(to)}`);
  if (sourcePort < 0) return malformed(`PROXY v1: bad source port ${JSON.stringify(fromPort)}`);
  if (destinationPort < 0) return malformed(`PROXY v1: bad destination port ${JSON.stringify(toPort)}`);
  const header: ProxyHeader = {
    version: 1,
    command: 'proxy',
    family: protocol === 'TCP4' ? 'ipv4' : 'ipv6',
    transport: 'stream',
    source: { address: source, port: sourcePort },
    destination: { address: destination, port: destinationPort },
    tlvs: NO_TLVS,
  };
  return { kind: 'header', header, length };
}

/** The address in canonical form, or undefined when it is not one of the protocol's family. */
function readAddress(protocol: 'TCP4' | 'TCP6', text: string): string | undefined {
  if (protocol === 'TCP4') {
    const v4 = parseIPv4(text);
    return v4 < 0 ? undefined : formatIPv4(v4);
  }
  const groups = newGroups();
  return parseIPv6(text, groups) ? formatIPv6(groups) : undefined;
}

/** A decimal port from 0 to 65535 without leading zeros, or -1. */
function readPort(text: string): number {
  if (text.length === 0 || text.length > 5 || (text.length > 1 && text.charCodeAt(0) === 48)) return -1;
  let port = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    port = port * 10 + (c - 48);
  }
  return port <= 65_535 ? port : -1;
}
