import { RxlbError } from '../errors.js';
import { crc32cFinish, crc32cInit, crc32cUpdate } from './crc32c.js';
import { formatIPv4, formatIPv6, newGroups, readIPv6, type Groups } from './ip.js';
import { pairOf } from './proxy-address.js';
import {
  malformed,
  MORE,
  NO_TLVS,
  NOT_PROXY,
  type ProxyAddress,
  type ProxyExamined,
  type ProxyHeader,
  type ProxyTlv,
  type ProxyTlvs,
} from './proxy-types.js';

/** The 12 bytes every v2 header starts with. */
export const V2_SIGNATURE: Buffer = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** The fixed part: signature, version and command, family and transport, length. */
export const V2_FIXED_LENGTH = 16;

/**
 * The most bytes rxlb accepts after the fixed part (addresses and TLVs). The field
 * allows 65535, but the largest address block is 216 bytes (AF_UNIX) and the TLVs a
 * proxy sends (ALPN, authority, a unique id of at most 128 bytes, SSL details, a cloud
 * provider's endpoint id) take a few hundred more; the spec expects the header to fit
 * one TCP segment. 4 KiB leaves room for all of that several times over, and bounds
 * what a connection can make rxlb hold before it has proved to be a proxy.
 */
export const V2_MAX_LENGTH = 4096;

export const TLV_ALPN = 0x01;
export const TLV_AUTHORITY = 0x02;
export const TLV_CRC32C = 0x03;
export const TLV_NOOP = 0x04;
export const TLV_UNIQUE_ID = 0x05;
/** The longest unique id the spec allows. */
export const UNIQUE_ID_MAX_LENGTH = 128;

const FAMILIES = ['unspec', 'ipv4', 'ipv6', 'unix'] as const;
const TRANSPORTS = ['unspec', 'stream', 'dgram'] as const;
/** Bytes of the address block for each family: two addresses, then two ports (none for AF_UNIX). */
const ADDRESS_LENGTH = [0, 12, 36, 216] as const;

export interface ProxyV2Fields {
  /** `local`: a connection of the proxy's own (a health check); it carries no address and no TLV. */
  readonly command: 'proxy' | 'local';
  readonly transport: 'stream' | 'dgram';
  readonly source?: ProxyAddress | undefined;
  readonly destination?: ProxyAddress | undefined;
  readonly tlvs?: Partial<ProxyTlvs> | undefined;
  /** Append a CRC32C TLV over the whole header, as the last TLV. */
  readonly checksum?: boolean | undefined;
}

/**
 * A v2 header. Both ends IPv4 (or IPv4-mapped IPv6) go as AF_INET, both IPv6 as
 * AF_INET6; ends that cannot be written together go as AF_UNSPEC with no address, which
 * tells the server to use the connection's own. TLVs follow in the order ALPN,
 * authority, unique id, the others as given, then the checksum when asked for.
 * Throws an RxlbError when the TLVs make the header longer than {@link V2_MAX_LENGTH}
 * allows, since rxlb itself would refuse such a header.
 */
export function encodeProxyV2(fields: ProxyV2Fields): Buffer {
  if (fields.command === 'local') {
    const header = Buffer.alloc(V2_FIXED_LENGTH);
    V2_SIGNATURE.copy(header);
    header[12] = 0x20;
    return header;
  }
  const pair = fields.source && fields.destination ? pairOf(fields.source, fields.destination) : ({ family: 'unspec' } as const);
  const family = pair.family === 'ipv4' ? 1 : pair.family === 'ipv6' ? 2 : 0;
  const tlvs = tlvList(fields.tlvs);
  const tlvBytes = tlvs.reduce((sum, tlv) => sum + 3 + tlv.value.length, 0) + (fields.checksum ? 7 : 0);
  const length = (ADDRESS_LENGTH[family] ?? 0) + tlvBytes;
  if (length > V2_MAX_LENGTH) throw new RxlbError(`a PROXY v2 header of ${V2_FIXED_LENGTH + length} bytes is over the ${V2_FIXED_LENGTH + V2_MAX_LENGTH}-byte limit`);
  const header = Buffer.alloc(V2_FIXED_LENGTH + length);
  V2_SIGNATURE.copy(header);
  header[12] = 0x21;
  header[13] = family === 0 ? 0x00 : (family << 4) | (fields.transport === 'dgram' ? 2 : 1);
  header.writeUInt16BE(length, 14);
  let p = V2_FIXED_LENGTH;
  if (pair.family === 'ipv4') {
    header.writeUInt32BE(pair.source, p);
    header.writeUInt32BE(pair.destination, p + 4);
    p += 8;
  } else if (pair.family === 'ipv6') {
    p = writeGroups(header, p, pair.source);
    p = writeGroups(header, p, pair.destination);
  }
  if (pair.family !== 'unspec') {
    header.writeUInt16BE(fields.source?.port ?? 0, p);
    header.writeUInt16BE(fields.destination?.port ?? 0, p + 2);
    p += 4;
  }
  for (const tlv of tlvs) {
    header[p] = tlv.type;
    header.writeUInt16BE(tlv.value.length, p + 1);
    tlv.value.copy(header, p + 3);
    p += 3 + tlv.value.length;
  }
  if (fields.checksum) {
    header[p] = TLV_CRC32C;
    header.writeUInt16BE(4, p + 1);
    // the checksum is computed with its own field zero, as it is now
    header.writeUInt32BE(crc32cFinish(crc32cUpdate(crc32cInit, header)), p + 3);
  }
  return header;
}

function tlvList(tlvs: Partial<ProxyTlvs> | undefined): ProxyTlv[] {
  if (!tlvs) return [];
  const list: ProxyTlv[] = [];
  if (tlvs.alpn !== undefined) list.push({ type: TLV_ALPN, value: Buffer.from(tlvs.alpn, 'latin1') });
  if (tlvs.authority !== undefined) list.push({ type: TLV_AUTHORITY, value: Buffer.from(tlvs.authority, 'utf8') });
  if (tlvs.uniqueId !== undefined) list.push({ type: TLV_UNIQUE_ID, value: tlvs.uniqueId });
  list.push(...(tlvs.others ?? []));
  return list;
}

function writeGroups(header: Buffer, at: number, groups: Groups): number {
  for (let k = 0; k < 8; k += 1) header.writeUInt16BE(groups[k] ?? 0, at + 2 * k);
  return at + 16;
}

/**
 * Looks at the first `n` bytes of a connection, which start with CR, for a v2 header. It
 * refuses at the first byte that breaks the signature, the version (2), the command
 * (LOCAL or PROXY), the family, the transport or the length limit, without waiting for
 * the rest; then waits for the whole header and reads it.
 */
export function examineV2(bytes: Buffer, n = bytes.length): ProxyExamined {
  for (let i = 0; i < V2_SIGNATURE.length && i < n; i += 1) if (bytes[i] !== V2_SIGNATURE[i]) return NOT_PROXY;
  if (n <= 12) return MORE;
  const versionCommand = bytes[12] ?? 0;
  if (versionCommand >> 4 !== 2) return malformed(`PROXY v2: version ${versionCommand >> 4}; only version 2 exists`);
  const command = versionCommand & 0x0f;
  if (command > 1) return malformed(`PROXY v2: command ${command} is neither LOCAL (0) nor PROXY (1)`);
  if (n === 13) return MORE;
  const familyTransport = bytes[13] ?? 0;
  const family = familyTransport >> 4;
  const transport = familyTransport & 0x0f;
  if (family > 3) return malformed(`PROXY v2: address family ${family} is not one of UNSPEC, INET, INET6, UNIX (0 to 3)`);
  if (transport > 2) return malformed(`PROXY v2: transport ${transport} is not one of UNSPEC, STREAM, DGRAM (0 to 2)`);
  if (n < V2_FIXED_LENGTH) return MORE;
  const length = (bytes[14] ?? 0) * 256 + (bytes[15] ?? 0);
  if (length > V2_MAX_LENGTH) return malformed(`PROXY v2: ${length} bytes of addresses and TLVs is over rxlb's limit of ${V2_MAX_LENGTH}`);
  const end = V2_FIXED_LENGTH + length;
  if (n < end) return MORE;
  return readBlock(bytes, command, family, transport, end);
}

/** A LOCAL header: whatever its block holds is to be ignored, as the spec says. */
const LOCAL: ProxyHeader = Object.freeze({
  version: 2,
  command: 'local',
  family: 'unspec',
  transport: 'unspec',
  source: undefined,
  destination: undefined,
  tlvs: NO_TLVS,
});

/** The header `bytes[0, end)`, whose fixed part is valid. */
function readBlock(bytes: Buffer, command: number, family: number, transport: number, end: number): ProxyExamined {
  if (command === 0) return { kind: 'header', header: LOCAL, length: end };
  const familyName = FAMILIES[family] ?? 'unspec';
  const transportName = TRANSPORTS[transport] ?? 'unspec';
  // with no transport, how the block is laid out is unknown: ignore it, as for LOCAL
  if (family !== 0 && transport === 0) {
    return { kind: 'header', header: proxyHeader(familyName, transportName, undefined, undefined, NO_TLVS), length: end };
  }
  const addressLength = ADDRESS_LENGTH[family] ?? 0;
  const start = V2_FIXED_LENGTH + addressLength;
  if (start > end) {
    return malformed(`PROXY v2: the ${familyName} address block takes ${addressLength} bytes, the header has ${end - V2_FIXED_LENGTH}`);
  }
  const tlvs = readTlvs(bytes, start, end);
  if (typeof tlvs === 'string') return malformed(tlvs);
  let source: ProxyAddress | undefined;
  let destination: ProxyAddress | undefined;
  const p = V2_FIXED_LENGTH;
  if (family === 1) {
    source = { address: formatIPv4(bytes.readUInt32BE(p)), port: bytes.readUInt16BE(p + 8) };
    destination = { address: formatIPv4(bytes.readUInt32BE(p + 4)), port: bytes.readUInt16BE(p + 10) };
  } else if (family === 2) {
    const groups = newGroups();
    source = { address: formatIPv6(readIPv6(bytes, p, groups)), port: bytes.readUInt16BE(p + 32) };
    destination = { address: formatIPv6(readIPv6(bytes, p + 16, groups)), port: bytes.readUInt16BE(p + 34) };
  }
  return { kind: 'header', header: proxyHeader(familyName, transportName, source, destination, tlvs), length: end };
}

/** A PROXY command's header, built in one shape so that reading one stays monomorphic. */
const proxyHeader = (
  family: ProxyHeader['family'],
  transport: ProxyHeader['transport'],
  source: ProxyAddress | undefined,
  destination: ProxyAddress | undefined,
  tlvs: ProxyTlvs,
): ProxyHeader => ({ version: 2, command: 'proxy', family, transport, source, destination, tlvs });

/** The TLVs in `bytes[start, end)`, or what is wrong with them. */
function readTlvs(bytes: Buffer, start: number, end: number): ProxyTlvs | string {
  if (start === end) return NO_TLVS;
  let alpn: string | undefined;
  let authority: string | undefined;
  let uniqueId: Buffer | undefined;
  const others: ProxyTlv[] = [];
  for (let p = start; p < end; ) {
    if (end - p < 3) return `PROXY v2: ${end - p} stray bytes after the last TLV`;
    const type = bytes[p] ?? 0;
    const from = p + 3;
    const to = from + (bytes[p + 1] ?? 0) * 256 + (bytes[p + 2] ?? 0);
    const name = `TLV 0x${type.toString(16).padStart(2, '0')}`;
    if (to > end) return `PROXY v2: ${name} at offset ${p} runs past the end of the header`;
    if (type === TLV_ALPN) {
      if (alpn !== undefined) return `PROXY v2: ${name} (ALPN) appears twice`;
      alpn = bytes.toString('latin1', from, to);
    } else if (type === TLV_AUTHORITY) {
      if (authority !== undefined) return `PROXY v2: ${name} (authority) appears twice`;
      authority = bytes.toString('utf8', from, to);
    } else if (type === TLV_UNIQUE_ID) {
      if (uniqueId !== undefined) return `PROXY v2: ${name} (unique id) appears twice`;
      if (to - from > UNIQUE_ID_MAX_LENGTH) return `PROXY v2: a unique id of ${to - from} bytes is over the ${UNIQUE_ID_MAX_LENGTH} the spec allows`;
      uniqueId = Buffer.from(bytes.subarray(from, to));
    } else {
      if (type === TLV_CRC32C) {
        const wrong = checkCrc(bytes, from, to, end);
        if (wrong !== undefined) return wrong;
      }
      others.push({ type, value: Buffer.from(bytes.subarray(from, to)) });
    }
    p = to;
  }
  return { alpn, authority, uniqueId, others };
}

/** What is wrong with the CRC32C value at `bytes[from, to)` of the header `bytes[0, end)`, or undefined. */
function checkCrc(bytes: Buffer, from: number, to: number, end: number): string | undefined {
  if (to - from !== 4) return `PROXY v2: a CRC32C TLV holds 4 bytes, this one ${to - from}`;
  // the checksum covers the whole header with its own field taken as zero
  let crc = crc32cUpdate(crc32cInit, bytes, 0, from);
  crc = crc32cUpdate(crc, ZERO4);
  crc = crc32cFinish(crc32cUpdate(crc, bytes, to, end));
  return crc === bytes.readUInt32BE(from) ? undefined : 'PROXY v2: the CRC32C checksum does not match the header';
}

const ZERO4 = new Uint8Array(4);
