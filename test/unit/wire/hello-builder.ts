/**
 * Builds TLS ClientHellos byte by byte for the reader's tests (RFC 8446, 4.1.2): the
 * parts a test varies are arguments, the rest is a plausible TLS 1.3 hello.
 */

export interface Extension {
  readonly type: number;
  readonly data: Buffer;
}

const u8 = (n: number): Buffer => Buffer.from([n]);
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number): Buffer => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
/** Bytes prefixed by their length on `size` bytes. */
export const vector = (size: 1 | 2 | 3, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([size === 1 ? u8(body.length) : size === 2 ? u16(body.length) : u24(body.length), body]);
};

/** server_name with one host_name (written as given, one byte per character). */
export const serverName = (host: string): Extension => ({ type: 0, data: vector(2, u8(0), vector(2, Buffer.from(host, 'latin1'))) });

/** ALPN with the protocol names given (one byte per character). */
export const alpn = (names: readonly string[]): Extension => ({ type: 16, data: vector(2, ...names.map((n) => vector(1, Buffer.from(n, 'latin1')))) });

export const supportedVersions: Extension = { type: 43, data: vector(1, u16(0x0304), u16(0x0303)) };
export const keyShare = (key: Buffer): Extension => ({ type: 51, data: vector(2, u16(0x001d), vector(2, key)) });
export const grease = (n: number, data = Buffer.alloc(0)): Extension => ({ type: ((n & 0xf) << 12) | 0x0a00 | ((n & 0xf) << 4) | 0x0a, data });
export const padding = (length: number): Extension => ({ type: 21, data: Buffer.alloc(length) });

export interface HelloParts {
  readonly version?: number;
  readonly sessionId?: Buffer;
  readonly suites?: readonly number[];
  readonly compressions?: readonly number[];
  /** Undefined: no extensions block at all. */
  readonly extensions?: readonly Extension[] | undefined;
}

/** A ClientHello body (after the 4-byte handshake header). */
export function helloBody(parts: HelloParts = {}): Buffer {
  const fixed = [
    u16(parts.version ?? 0x0303),
    Buffer.alloc(32, 0xab),
    vector(1, parts.sessionId ?? Buffer.alloc(32, 0x11)),
    vector(2, ...(parts.suites ?? [0x0a0a, 0x1301, 0x1302, 0x1303]).map(u16)),
    vector(1, Buffer.from(parts.compressions ?? [0])),
  ];
  if (parts.extensions === undefined) return Buffer.concat(fixed);
  return Buffer.concat([...fixed, vector(2, ...parts.extensions.map((e) => Buffer.concat([u16(e.type), vector(2, e.data)])))]);
}

/** The handshake message: type 1 (ClientHello), length on 3 bytes, body. */
export const handshake = (body: Buffer, type = 1): Buffer => Buffer.concat([u8(type), vector(3, body)]);

/** `message` cut into handshake records of the given sizes (the last takes the rest). */
export function records(message: Buffer, sizes: readonly number[] = [], version = 0x0301): Buffer {
  const out: Buffer[] = [];
  let p = 0;
  for (const size of [...sizes, message.length]) {
    if (p >= message.length) break;
    const part = message.subarray(p, Math.min(message.length, p + Math.max(1, size)));
    out.push(Buffer.concat([u8(0x16), u16(version), vector(2, part)]));
    p += part.length;
  }
  return Buffer.concat(out);
}

/** A whole hello in one record. */
export const hello = (parts: HelloParts = {}): Buffer => records(handshake(helloBody(parts)));
