import { Duplex } from 'node:stream';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { ClientHelloReader, type ClientHelloResult } from '../../../src/wire/client-hello.js';
import { alpn, grease, handshake, hello, helloBody, keyShare, padding, records, serverName, supportedVersions, vector, type Extension } from './hello-builder.js';

/**
 * The first flight of a real TLS client (Node's, so OpenSSL's), caught in memory: the
 * client writes into a stream that goes nowhere, and the first write is the hello.
 */
async function openSslHello(options: { servername?: string; ALPNProtocols?: string[] }): Promise<Buffer> {
  let written: (chunk: Buffer) => void = () => {};
  const first = new Promise<Buffer>((resolve) => (written = resolve));
  const sink = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      written(Buffer.from(chunk));
      done();
    },
  });
  const client = connect({ socket: sink, ...options });
  client.on('error', () => {});
  try {
    return await first;
  } finally {
    client.destroy();
  }
}

const read = (bytes: Buffer): ClientHelloResult => new ClientHelloReader().push(bytes);

/** Feeds `bytes` one byte at a time; gives every answer. */
function byteByByte(bytes: Buffer): ClientHelloResult[] {
  const reader = new ClientHelloReader();
  return [...bytes].map((b) => reader.push(Buffer.from([b])));
}

const reasonOf = (bytes: Buffer): string => {
  const got = read(bytes);
  return got.kind === 'malformed' ? got.reason : `not malformed: ${got.kind}`;
};

const typical = (extensions: readonly Extension[]): Buffer => hello({ extensions: [grease(1), ...extensions, supportedVersions, keyShare(Buffer.alloc(32, 7)), grease(2, Buffer.from([0]))] });

describe('ClientHelloReader', () => {
  it("reads a real client's server name, lower-cased, and its ALPN protocols in order", async () => {
    const bytes = await openSslHello({ servername: 'Api.Example.COM', ALPNProtocols: ['h2', 'http/1.1'] });
    expect(read(bytes)).toEqual({ kind: 'hello', sni: 'api.example.com', alpn: ['h2', 'http/1.1'] });
    expect(read(await openSslHello({}))).toEqual({ kind: 'hello', sni: undefined, alpn: [] });
  });

  it('needs more until the last byte of the hello, then answers, byte by byte', async () => {
    const bytes = await openSslHello({ servername: 'a.example', ALPNProtocols: ['h2'] });
    const answers = byteByByte(bytes);
    expect(answers.slice(0, -1).every((a) => a.kind === 'more')).toBe(true);
    expect(answers.at(-1)).toEqual({ kind: 'hello', sni: 'a.example', alpn: ['h2'] });
  });

  it('reads a hello split over several records, its handshake header split too, and chunks cutting records', () => {
    const message = handshake(helloBody({ extensions: [serverName('split.example'), alpn(['h2'])] }));
    const bytes = records(message, [2, 1, 30, 5]);
    expect(bytes.length).toBe(message.length + 5 * 5);
    expect(read(bytes)).toEqual({ kind: 'hello', sni: 'split.example', alpn: ['h2'] });
    const reader = new ClientHelloReader();
    expect(reader.push(bytes.subarray(0, 3))).toEqual({ kind: 'more' });
    expect(reader.push(bytes.subarray(3, 9))).toEqual({ kind: 'more' });
    expect(reader.push(bytes.subarray(9, 40))).toEqual({ kind: 'more' });
    expect(reader.push(bytes.subarray(40))).toEqual({ kind: 'hello', sni: 'split.example', alpn: ['h2'] });
  });

  it('ignores what follows the hello, in its record or after it', () => {
    const message = handshake(helloBody({ extensions: [serverName('x.example')] }));
    const withMore = records(Buffer.concat([message, Buffer.from([0x0b, 0, 0, 5])]));
    expect(read(withMore)).toEqual({ kind: 'hello', sni: 'x.example', alpn: [] });
    expect(read(Buffer.concat([hello({ extensions: [] }), Buffer.from('\x17\x03\x03\x00\x05hello')]))).toEqual({ kind: 'hello', sni: undefined, alpn: [] });
  });

  it('reads SNI and ALPN in any order among other extensions, GREASE included', () => {
    expect(read(typical([alpn(['http/1.1', '\u00ff\u0000']), serverName('Z.example')]))).toEqual({ kind: 'hello', sni: 'z.example', alpn: ['http/1.1', '\u00ff\u0000'] });
    expect(read(hello({ extensions: [padding(200), serverName('p.example'), grease(3)] }))).toEqual({ kind: 'hello', sni: 'p.example', alpn: [] });
    expect(read(hello({ extensions: undefined }))).toEqual({ kind: 'hello', sni: undefined, alpn: [] });
  });

  it('skips server names of other types than host_name', () => {
    const names: Extension = { type: 0, data: vector(2, Buffer.from([7]), vector(2, Buffer.from('other')), Buffer.from([0]), vector(2, Buffer.from('h.example'))) };
    expect(read(hello({ extensions: [names] }))).toEqual({ kind: 'hello', sni: 'h.example', alpn: [] });
  });

  it('reads the largest hello it takes, 16 KiB spread over two records, and refuses one byte more at its length', () => {
    const largest = handshake(helloBody({ extensions: [serverName('big.example'), padding(16_384 - helloBody({ extensions: [serverName('big.example'), padding(0)] }).length)] }));
    expect(largest.length).toBe(16_388);
    expect(read(records(largest, [16_384]))).toEqual({ kind: 'hello', sni: 'big.example', alpn: [] });
    const over = records(handshake(helloBody({ extensions: [padding(16_384)] })), [16_384]);
    const answers = byteByByte(over.subarray(0, 9));
    expect(answers.slice(0, 8).every((a) => a.kind === 'more')).toBe(true);
    expect(answers[8]).toEqual({ kind: 'malformed', reason: `TLS ClientHello: a hello of ${over.length - 5 * 2 - 4} bytes is larger than rxlb reads (16 KiB)` });
  });

  it('says the bytes are not TLS as soon as the first three cannot start a handshake record', () => {
    expect(read(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ kind: 'not-tls' });
    expect(read(Buffer.from('PROXY TCP4 '))).toEqual({ kind: 'not-tls' });
    // an SSLv2-style hello: no room for SNI
    expect(read(Buffer.from('8046010301002d0000001000', 'hex'))).toEqual({ kind: 'not-tls' });
    expect(byteByByte(Buffer.from('160203', 'hex')).map((a) => a.kind)).toEqual(['more', 'not-tls', 'not-tls']);
    expect(byteByByte(Buffer.from('160305', 'hex')).map((a) => a.kind)).toEqual(['more', 'more', 'not-tls']);
    expect(read(Buffer.from('17030300', 'hex'))).toEqual({ kind: 'not-tls' });
  });

  it('refuses a broken handshake, saying what is wrong', () => {
    const body = (parts: Parameters<typeof helloBody>[0]): Buffer => records(handshake(helloBody(parts)));
    const cases: [Buffer, string][] = [
      [Buffer.from('1603010000', 'hex'), 'an empty handshake record'],
      [Buffer.from('1603014001', 'hex'), 'a record of 16385 bytes, over the 16384 TLS allows'],
      [records(handshake(helloBody(), 2)), 'the first handshake message is of type 0x02, not a ClientHello (0x01)'],
      [records(handshake(Buffer.alloc(10))), 'a hello of 10 bytes is too short'],
      [body({ version: 0x0200 }), 'client version 0x0200 is not TLS 1.x'],
      [body({ sessionId: Buffer.alloc(33) }), 'a session id of 33 bytes, over 32'],
      [body({ suites: [] }), 'a cipher suite list of 0 bytes'],
      [records(handshake(Buffer.concat([helloBody().subarray(0, 67), Buffer.from([0, 3, 1, 2, 3, 1, 0])]))), 'a cipher suite list of 3 bytes'],
      [body({ compressions: [] }), 'no compression method'],
      [records(handshake(Buffer.concat([helloBody({ extensions: [] }), Buffer.from([0])]))), 'its extensions length says 0 bytes, but 1 follow'],
      [body({ extensions: [serverName('a.example'), serverName('b.example')] }), 'two server_name extensions'],
      [body({ extensions: [alpn(['h2']), alpn(['h2'])] }), 'two ALPN extensions'],
      [body({ extensions: [{ type: 0, data: vector(2, Buffer.from([0]), vector(2, Buffer.from('a')), Buffer.from([0]), vector(2, Buffer.from('b'))) }] }), 'two host names in server_name'],
      [body({ extensions: [serverName('')] }), 'an empty host name'],
      [body({ extensions: [serverName('b\u00fccher.example')] }), 'byte 0xfc in the host name is not printable US-ASCII'],
      [body({ extensions: [serverName('a b')] }), 'byte 0x20 in the host name is not printable US-ASCII'],
      [body({ extensions: [{ type: 0, data: Buffer.from([0, 9, 0]) }] }), 'a server_name list whose length does not match its extension'],
      [body({ extensions: [{ type: 16, data: Buffer.from([0, 0]) }] }), 'an empty ALPN list'],
      [body({ extensions: [{ type: 16, data: Buffer.from([0, 1, 0]) }] }), 'an empty ALPN protocol name'],
      [body({ extensions: [{ type: 16, data: Buffer.from([0, 2, 5, 0x68]) }] }), 'an ALPN protocol name runs past its list'],
    ];
    for (const [bytes, reason] of cases) expect(reasonOf(bytes), reason).toBe(`TLS ClientHello: ${reason}`);
  });

  it('refuses a record of another type, or version, before the hello is complete', () => {
    const message = handshake(helloBody({ extensions: [serverName('a.example')] }));
    const first = records(message.subarray(0, 20));
    expect(reasonOf(Buffer.concat([first, Buffer.from('15030300020230', 'hex')]))).toBe('TLS ClientHello: a record of type 0x15 came before the hello was complete');
    expect(reasonOf(Buffer.concat([first, Buffer.from('16020000', 'hex')]))).toBe('TLS ClientHello: a record with a version other than TLS 1.x came before the hello was complete');
  });

  it('keeps its answer once given, and leaves every chunk as it was', () => {
    const bytes = typical([serverName('keep.example')]);
    const copy = Buffer.from(bytes);
    const reader = new ClientHelloReader();
    const first = reader.push(bytes);
    expect(bytes).toEqual(copy);
    expect(reader.push(Buffer.from('anything'))).toBe(first);
    const refused = new ClientHelloReader();
    expect(refused.push(Buffer.from('GET'))).toEqual({ kind: 'not-tls' });
    expect(refused.push(bytes)).toEqual({ kind: 'not-tls' });
  });

  it('waits on empty chunks', () => {
    const reader = new ClientHelloReader();
    const bytes = typical([]);
    expect(reader.push(Buffer.alloc(0))).toEqual({ kind: 'more' });
    expect(reader.push(bytes.subarray(0, 7))).toEqual({ kind: 'more' });
    expect(reader.push(Buffer.alloc(0))).toEqual({ kind: 'more' });
    expect(reader.push(bytes.subarray(7))).toEqual({ kind: 'hello', sni: undefined, alpn: [] });
  });
});
