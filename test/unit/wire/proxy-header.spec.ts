import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/wire/crc32c.js';
import { encodeProxyV1, encodeProxyV2, examineProxyHeader, ProxyHeaderDecoder, V2_SIGNATURE } from '../../../src/wire/proxy-header.js';
import type { ProxyDecodeResult, ProxyHeader } from '../../../src/wire/proxy-types.js';

const SIG = V2_SIGNATURE.toString('hex');
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');
const at = (address: string, port: number) => ({ address, port });

/** Feeds `bytes` one byte at a time; gives every answer. */
function byteByByte(bytes: Buffer): ProxyDecodeResult[] {
  const decoder = new ProxyHeaderDecoder();
  return [...bytes].map((b) => decoder.push(Buffer.from([b])));
}

const decodeOne = (bytes: Buffer): ProxyDecodeResult => new ProxyHeaderDecoder().push(bytes);
const reasonOf = (bytes: Buffer): string | undefined => {
  const got = decodeOne(bytes);
  return got.kind === 'malformed' ? got.reason : `not malformed: ${got.kind}`;
};

const tcp4: ProxyHeader = {
  version: 1,
  command: 'proxy',
  family: 'ipv4',
  transport: 'stream',
  source: at('192.0.2.1', 56324),
  destination: at('192.0.2.11', 443),
  tlvs: { others: [] },
};

describe('encodeProxyV1', () => {
  it('writes TCP4 for two IPv4 ends, IPv4-mapped ones included', () => {
    expect(encodeProxyV1({ source: at('192.0.2.1', 56324), destination: at('192.0.2.11', 443) }).toString('latin1')).toBe('PROXY TCP4 192.0.2.1 192.0.2.11 56324 443\r\n');
    expect(encodeProxyV1({ source: at('::ffff:192.0.2.1', 1), destination: at('::FFFF:c000:20b', 0) }).toString('latin1')).toBe('PROXY TCP4 192.0.2.1 192.0.2.11 1 0\r\n');
    expect(encodeProxyV1({ source: at('::ffff:192.0.2.1', 1), destination: at('10.0.0.1', 65535) }).toString('latin1')).toBe('PROXY TCP4 192.0.2.1 10.0.0.1 1 65535\r\n');
  });

  it('writes TCP6 for two IPv6 ends, in canonical form', () => {
    expect(encodeProxyV1({ source: at('2001:DB8:0:0::1', 40000), destination: at('::1', 443) }).toString('latin1')).toBe('PROXY TCP6 2001:db8::1 ::1 40000 443\r\n');
    expect(encodeProxyV1({ source: at('::ffff:192.0.2.1', 40000), destination: at('fe80::1%eth0', 443) }).toString('latin1')).toBe('PROXY TCP6 ::ffff:192.0.2.1 fe80::1 40000 443\r\n');
  });

  it('writes UNKNOWN when the ends cannot be written together', () => {
    for (const [source, destination] of [
      [at('192.0.2.1', 1), at('::1', 2)],
      [at('localhost', 1), at('127.0.0.1', 2)],
      [at('192.0.2.1', 65536), at('192.0.2.2', 2)],
      [at('192.0.2.1', -1), at('192.0.2.2', 2)],
      [at('192.0.2.1', 1.5), at('192.0.2.2', 2)],
    ] as const) {
      expect(encodeProxyV1({ source, destination }).toString('latin1')).toBe('PROXY UNKNOWN\r\n');
    }
  });
});

describe('reading a v1 header', () => {
  it('gives the header, its length and the client bytes after it', () => {
    const got = decodeOne(ascii('PROXY TCP4 192.0.2.1 192.0.2.11 56324 443\r\nGET / HTTP/1.1\r\n'));
    expect(got).toEqual({ kind: 'header', header: tcp4, length: 43, rest: ascii('GET / HTTP/1.1\r\n') });
  });

  it('reads TCP6 in any valid form and gives it in canonical form', () => {
    const got = decodeOne(ascii('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::ffff:192.0.2.1 1 0\r\n'));
    expect(got.kind === 'header' && got.header).toEqual({ ...tcp4, family: 'ipv6', source: at('2001:db8::1', 1), destination: at('::ffff:192.0.2.1', 0) });
  });

  it('reads UNKNOWN, short or with anything before the CRLF, as no address', () => {
    const unknown: ProxyHeader = { version: 1, command: 'proxy', family: 'unspec', transport: 'unspec', source: undefined, destination: undefined, tlvs: { others: [] } };
    expect(decodeOne(ascii('PROXY UNKNOWN\r\n'))).toEqual({ kind: 'header', header: unknown, length: 15, rest: Buffer.alloc(0) });
    expect(decodeOne(ascii('PROXY UNKNOWN whatever 1 2\r\nx'))).toEqual({ kind: 'header', header: unknown, length: 28, rest: ascii('x') });
  });

  it('reads the longest lines the spec allows: 104 bytes for TCP6, 107 for UNKNOWN', () => {
    const v6 = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe';
    const line6 = `PROXY TCP6 ${v6} ${v6} 65535 65535\r\n`;
    expect(line6).toHaveLength(104);
    expect(decodeOne(ascii(line6))).toMatchObject({ kind: 'header', length: 104, header: { source: at('ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe', 65535) } });
    const longest = `PROXY UNKNOWN ${v6} ${v6} 65535 65535\r\n`;
    expect(longest).toHaveLength(107);
    expect(decodeOne(ascii(longest))).toMatchObject({ kind: 'header', length: 107 });
  });

  it('needs more until the CRLF, then answers once, at the LF', () => {
    const line = ascii('PROXY TCP4 192.0.2.1 192.0.2.11 56324 443\r\n');
    const answers = byteByByte(line);
    expect(answers.slice(0, -1).every((a) => a.kind === 'more')).toBe(true);
    expect(answers.at(-1)).toEqual({ kind: 'header', header: tcp4, length: 43, rest: Buffer.alloc(0) });
  });

  it('says a connection starting otherwise has no header, at the first byte that shows it', () => {
    expect(byteByByte(ascii('GET / HTTP/1.1\r\n'))[0]).toEqual({ kind: 'not-proxy' });
    expect(byteByByte(ascii('PROXZ')).map((a) => a.kind)).toEqual(['more', 'more', 'more', 'more', 'not-proxy']);
    expect(byteByByte(ascii('PROXYTCP4')).map((a) => a.kind)).toEqual(['more', 'more', 'more', 'more', 'more', 'not-proxy', 'not-proxy', 'not-proxy', 'not-proxy']);
    expect(decodeOne(hex('16030100'))).toEqual({ kind: 'not-proxy' });
  });

  it('refuses a wrong protocol word as soon as it shows', () => {
    const answers = byteByByte(ascii('PROXY TCP5 1.2.3.4'));
    expect(answers.map((a) => a.kind).indexOf('malformed')).toBe(9);
    expect(answers[9]).toEqual({ kind: 'malformed', reason: 'PROXY v1: the protocol is not TCP4, TCP6 or UNKNOWN' });
    expect(reasonOf(ascii('PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n'))).toBe('PROXY v1: the protocol is not TCP4, TCP6 or UNKNOWN');
    expect(reasonOf(ascii('PROXY TCP4\r\n'))).toBe('PROXY v1: the protocol is not TCP4, TCP6 or UNKNOWN');
  });

  it('refuses a line that breaks the spec, saying how', () => {
    const cases: [string, string][] = [
      ['PROXY TCP4 192.0.2.1 192.0.2.11 1 2\n', 'PROXY v1: a line ending in LF without CR'],
      ['PROXY TCP4 192.0.2.1 192.0.2.11 1 2\rX', 'PROXY v1: a CR not followed by LF'],
      ['PROXY TCP4 192.0.2.1  192.0.2.11 1 2\r\n', 'PROXY v1: expected "TCP4 <source> <destination> <source port> <destination port>" with single spaces'],
      ['PROXY TCP4 192.0.2.1 192.0.2.11 1\r\n', 'PROXY v1: expected "TCP4 <source> <destination> <source port> <destination port>" with single spaces'],
      ['PROXY TCP4 192.0.2.1 192.0.2.11 1 2 \r\n', 'PROXY v1: expected "TCP4 <source> <destination> <source port> <destination port>" with single spaces'],
      ['PROXY TCP4 ::1 192.0.2.11 1 2\r\n', 'PROXY v1: bad TCP4 source address "::1"'],
      ['PROXY TCP4 192.0.2.1 192.0.2.011 1 2\r\n', 'PROXY v1: bad TCP4 destination address "192.0.2.011"'],
      ['PROXY TCP6 192.0.2.1 ::1 1 2\r\n', 'PROXY v1: bad TCP6 source address "192.0.2.1"'],
      ['PROXY TCP4 192.0.2.1 192.0.2.11 01 2\r\n', 'PROXY v1: bad source port "01"'],
      ['PROXY TCP4 192.0.2.1 192.0.2.11 1 65536\r\n', 'PROXY v1: bad destination port "65536"'],
      ['PROXY TCP4 192.0.2.1 192.0.2.11 1 +2\r\n', 'PROXY v1: bad destination port "+2"'],
      ['PROXY TCP4 192.0.2.1\t192.0.2.11 1 2\r\n', 'PROXY v1: byte 0x09 at offset 20 is not printable US-ASCII'],
      ['PROXY UNKNOWN \u00e9\r\n', 'PROXY v1: byte 0xe9 at offset 14 is not printable US-ASCII'],
    ];
    for (const [line, reason] of cases) expect(reasonOf(ascii(line)), line).toBe(reason);
  });

  it('refuses a line with no CRLF in its first 107 bytes, at the 107th', () => {
    const long = ascii(`PROXY UNKNOWN ${'x'.repeat(100)}`);
    const answers = byteByByte(long);
    expect(answers.slice(0, 106).every((a) => a.kind === 'more')).toBe(true);
    expect(answers[106]).toEqual({ kind: 'malformed', reason: 'PROXY v1: no CRLF within the first 107 bytes' });
    // a CR as the 107th byte cannot end a line in time either
    expect(decodeOne(ascii(`PROXY UNKNOWN ${'x'.repeat(92)}\r\n`))).toEqual({ kind: 'malformed', reason: 'PROXY v1: no CRLF within the first 107 bytes' });
  });
});

describe('encodeProxyV2', () => {
  it('writes TCP over IPv4: signature, 0x21, 0x11, length 12, addresses, ports', () => {
    const header = encodeProxyV2({ command: 'proxy', transport: 'stream', source: at('192.0.2.1', 56324), destination: at('::ffff:192.0.2.11', 443) });
    expect(header.toString('hex')).toBe(`${SIG}2111000c` + 'c0000201c000020b' + 'dc0401bb');
  });

  it('writes UDP over IPv6 with 36 bytes of addresses', () => {
    const header = encodeProxyV2({ command: 'proxy', transport: 'dgram', source: at('2001:db8::1', 53), destination: at('::1', 5353) });
    expect(header.toString('hex')).toBe(`${SIG}21220024` + '20010db8000000000000000000000001' + '00000000000000000000000000000001' + '003514e9');
  });

  it('writes LOCAL with no address, and AF_UNSPEC for ends that cannot go together', () => {
    expect(encodeProxyV2({ command: 'local', transport: 'stream', source: at('192.0.2.1', 1), destination: at('192.0.2.2', 2) }).toString('hex')).toBe(`${SIG}20000000`);
    expect(encodeProxyV2({ command: 'proxy', transport: 'stream', source: at('192.0.2.1', 1), destination: at('::1', 2) }).toString('hex')).toBe(`${SIG}21000000`);
  });

  it('writes TLVs in the order ALPN, authority, unique id, others, then the checksum', () => {
    const header = encodeProxyV2({
      command: 'proxy',
      transport: 'stream',
      source: at('10.0.0.1', 1),
      destination: at('10.0.0.2', 2),
      tlvs: { alpn: 'h2', authority: 'bücher.example', uniqueId: hex('0102'), others: [{ type: 0xe0, value: hex('ff') }] },
      checksum: true,
    });
    const body = '0a0000010a00000200010002' + '010002' + '6832' + '02000f' + Buffer.from('bücher.example').toString('hex') + '050002' + '0102' + 'e00001' + 'ff';
    const withoutCrc = `${SIG}2111${(body.length / 2 + 7).toString(16).padStart(4, '0')}${body}03000400000000`;
    const crc = crc32c(hex(withoutCrc)).toString(16).padStart(8, '0');
    expect(header.toString('hex')).toBe(withoutCrc.slice(0, -8) + crc);
  });

  it('refuses to write a header rxlb itself would refuse to read', () => {
    expect(() => encodeProxyV2({ command: 'proxy', transport: 'stream', tlvs: { others: [{ type: 0xe0, value: Buffer.alloc(4094) }] } })).toThrow(
      'a PROXY v2 header of 4113 bytes is over the 4112-byte limit',
    );
  });
});

describe('crc32c', () => {
  it('gives the check value of the standard test vector', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
  });
});

describe('reading a v2 header', () => {
  const ipv4 = `${SIG}2111000c c0000201c000020b dc0401bb`;

  it('gives the header, its length and the client bytes after it', () => {
    expect(decodeOne(hex(`${ipv4} 474554`))).toEqual({
      kind: 'header',
      header: { ...tcp4, version: 2 },
      length: 28,
      rest: ascii('GET'),
    });
  });

  it('reads TLVs: ALPN, authority and unique id by name, the rest as they came', () => {
    const tlvs = '010002 6832' + '02000b' + ascii('example.com').toString('hex') + '050003 aabbcc' + '040002 0000' + '200005 0100000000';
    const body = `c0000201c000020b dc0401bb ${tlvs}`;
    const length = hex(body).length.toString(16).padStart(4, '0');
    const got = decodeOne(hex(`${SIG}2111${length}${body}`));
    expect(got.kind === 'header' && got.header.tlvs).toEqual({
      alpn: 'h2',
      authority: 'example.com',
      uniqueId: hex('aabbcc'),
      others: [
        { type: 0x04, value: hex('0000') },
        { type: 0x20, value: hex('0100000000') },
      ],
    });
  });

  it('checks a CRC32C TLV against the header', () => {
    const header = encodeProxyV2({ command: 'proxy', transport: 'stream', source: at('10.0.0.1', 1), destination: at('10.0.0.2', 2), checksum: true });
    expect(decodeOne(header)).toMatchObject({ kind: 'header', header: { source: at('10.0.0.1', 1) } });
    const changed = Buffer.from(header);
    changed[19] = 2; // source 10.0.0.2
    expect(decodeOne(changed)).toEqual({ kind: 'malformed', reason: 'PROXY v2: the CRC32C checksum does not match the header' });
  });

  it('reads LOCAL as no address, skipping whatever block it has', () => {
    const got = decodeOne(hex(`${SIG}2011000c c0000201c000020b dc0401bb ff`));
    expect(got).toEqual({
      kind: 'header',
      header: { version: 2, command: 'local', family: 'unspec', transport: 'unspec', source: undefined, destination: undefined, tlvs: { others: [] } },
      length: 28,
      rest: hex('ff'),
    });
  });

  it('reads AF_UNIX and AF_UNSPEC as no address, with their TLVs; a family without transport as nothing', () => {
    const unix = decodeOne(hex(`${SIG}213100dd ${'00'.repeat(216)} 010002 6832`));
    expect(unix).toMatchObject({ kind: 'header', length: 237, header: { family: 'unix', transport: 'stream', source: undefined, tlvs: { alpn: 'h2' } } });
    const unspec = decodeOne(hex(`${SIG}21000005 010002 6832`));
    expect(unspec).toMatchObject({ kind: 'header', length: 21, header: { family: 'unspec', transport: 'unspec', source: undefined, tlvs: { alpn: 'h2' } } });
    const noTransport = decodeOne(hex(`${SIG}21100003 ffffff`));
    expect(noTransport).toMatchObject({ kind: 'header', length: 19, header: { family: 'ipv4', transport: 'unspec', source: undefined, tlvs: { others: [] } } });
  });

  it('refuses a bad version, command, family or transport at the byte that carries it', () => {
    const answer = (bytes: string): ProxyDecodeResult[] => byteByByte(hex(bytes));
    expect(answer(`${SIG}11`).at(-1)).toEqual({ kind: 'malformed', reason: 'PROXY v2: version 1; only version 2 exists' });
    expect(answer(`${SIG}22`).at(-1)).toEqual({ kind: 'malformed', reason: 'PROXY v2: command 2 is neither LOCAL (0) nor PROXY (1)' });
    expect(answer(`${SIG}2141`).at(-1)).toEqual({ kind: 'malformed', reason: 'PROXY v2: address family 4 is not one of UNSPEC, INET, INET6, UNIX (0 to 3)' });
    expect(answer(`${SIG}2113`).at(-1)).toEqual({ kind: 'malformed', reason: 'PROXY v2: transport 3 is not one of UNSPEC, STREAM, DGRAM (0 to 2)' });
    expect(answer(`${SIG}21`).every((a) => a.kind === 'more')).toBe(true);
  });

  it('refuses a length over 4096 at once, without waiting for the bytes', () => {
    expect(decodeOne(hex(`${SIG}21111001`))).toEqual({ kind: 'malformed', reason: "PROXY v2: 4097 bytes of addresses and TLVs is over rxlb's limit of 4096" });
    expect(decodeOne(hex(`${SIG}21111000`))).toEqual({ kind: 'more' });
    expect(decodeOne(hex(`${SIG}21001000 e00ffd ${'00'.repeat(4093)}`))).toMatchObject({ kind: 'header', length: 4112 });
  });

  it('refuses a block too short for its addresses, or TLVs that do not fit it, saying how', () => {
    expect(reasonOf(hex(`${SIG}21110008 c0000201c000020b`))).toBe('PROXY v2: the ipv4 address block takes 12 bytes, the header has 8');
    expect(reasonOf(hex(`${SIG}2121000c c0000201c000020b dc0401bb`))).toBe('PROXY v2: the ipv6 address block takes 36 bytes, the header has 12');
    expect(reasonOf(hex(`${SIG}21000002 0100`))).toBe('PROXY v2: 2 stray bytes after the last TLV');
    expect(reasonOf(hex(`${SIG}21000004 010002 68`))).toBe('PROXY v2: TLV 0x01 at offset 16 runs past the end of the header');
    expect(reasonOf(hex(`${SIG}21000008 010001 68 010001 69`))).toBe('PROXY v2: TLV 0x01 (ALPN) appears twice');
    expect(reasonOf(hex(`${SIG}21000084 050081 ${'00'.repeat(129)}`))).toBe('PROXY v2: a unique id of 129 bytes is over the 128 the spec allows');
    expect(reasonOf(hex(`${SIG}21000005 030002 0000`))).toBe('PROXY v2: a CRC32C TLV holds 4 bytes, this one 2');
  });

  it('says a signature broken anywhere is no header', () => {
    for (let i = 0; i < 12; i += 1) {
      const bytes = hex(`${SIG}2111000c c0000201c000020b dc0401bb`);
      bytes[i] = (bytes[i] ?? 0) ^ 0x40;
      expect(decodeOne(bytes), `byte ${i}`).toEqual({ kind: 'not-proxy' });
    }
  });
});

describe('ProxyHeaderDecoder', () => {
  it('gives the client bytes after a header split across chunks, from the chunk it ends in', () => {
    const header = encodeProxyV2({ command: 'proxy', transport: 'stream', source: at('192.0.2.1', 56324), destination: at('192.0.2.11', 443) });
    const decoder = new ProxyHeaderDecoder();
    expect(decoder.push(header.subarray(0, 5))).toEqual({ kind: 'more' });
    expect(decoder.push(header.subarray(5, 20))).toEqual({ kind: 'more' });
    expect(decoder.push(Buffer.concat([header.subarray(20), ascii('hello')]))).toEqual({ kind: 'header', header: { ...tcp4, version: 2 }, length: 28, rest: ascii('hello') });
  });

  it('keeps its answer once given, whatever it is fed next', () => {
    const decoder = new ProxyHeaderDecoder();
    const first = decoder.push(ascii('PROXY UNKNOWN\r\n'));
    expect(decoder.push(ascii('GET / HTTP/1.1'))).toBe(first);
    const refused = new ProxyHeaderDecoder();
    expect(refused.push(ascii('SSH-2.0'))).toEqual({ kind: 'not-proxy' });
    expect(refused.push(ascii('PROXY UNKNOWN\r\n'))).toEqual({ kind: 'not-proxy' });
  });

  it('waits on empty chunks', () => {
    const decoder = new ProxyHeaderDecoder();
    expect(decoder.push(Buffer.alloc(0))).toEqual({ kind: 'more' });
    expect(decoder.push(ascii('PRO'))).toEqual({ kind: 'more' });
    expect(decoder.push(Buffer.alloc(0))).toEqual({ kind: 'more' });
    expect(decoder.push(ascii('XY UNKNOWN\r\n'))).toMatchObject({ kind: 'header', length: 15 });
  });

  it('answers as examineProxyHeader does on the bytes as one buffer', () => {
    const bytes = ascii('PROXY TCP4 192.0.2.1 192.0.2.11 56324 443\r\n');
    expect(examineProxyHeader(bytes)).toEqual({ kind: 'header', header: tcp4, length: 43 });
    expect(examineProxyHeader(Buffer.alloc(0))).toEqual({ kind: 'more' });
  });
});
