/**
 * The PROXY protocol (HAProxy's `doc/proxy-protocol.txt`): a header a proxy sends before
 * the client's first byte, so that the server behind it learns the client's address.
 * Version 1 is one line of text, version 2 a binary block with optional TLVs.
 */

/** An address and port as they travel in a header: `192.0.2.1`, `2001:db8::1`. */
export interface ProxyAddress {
  readonly address: string;
  readonly port: number;
}

/** One TLV of a version 2 header that rxlb does not read itself, as it came. */
export interface ProxyTlv {
  readonly type: number;
  readonly value: Buffer;
}

/**
 * The TLVs of a version 2 header. ALPN is read one character per byte (latin1), so any
 * byte string survives; the authority (the TLS server name, usually) as UTF-8, as the
 * spec says it is.
 */
export interface ProxyTlvs {
  readonly alpn?: string | undefined; // 0x01
  readonly authority?: string | undefined; // 0x02
  readonly uniqueId?: Buffer | undefined; // 0x05, at most 128 bytes
  /** Every other TLV, in header order: CRC32C (0x03, checked on reading), NOOP (0x04), SSL (0x20), custom types. */
  readonly others: readonly ProxyTlv[];
}

export const NO_TLVS: ProxyTlvs = Object.freeze({ others: Object.freeze([]) });

/**
 * A decoded header. `command: 'local'` (v2 only: a connection the proxy made itself, a
 * health check) and any header without usable addresses (v1 `UNKNOWN`, v2 `AF_UNSPEC`
 * or `AF_UNIX`) leave `source` and `destination` undefined: keep the TCP peer.
 */
export interface ProxyHeader {
  readonly version: 1 | 2;
  readonly command: 'proxy' | 'local';
  readonly family: 'ipv4' | 'ipv6' | 'unix' | 'unspec';
  readonly transport: 'stream' | 'dgram' | 'unspec';
  readonly source: ProxyAddress | undefined;
  readonly destination: ProxyAddress | undefined;
  readonly tlvs: ProxyTlvs;
}

/**
 * What the first bytes of a connection say, so far:
 * - `more`: a header may still come; feed the next chunk;
 * - `not-proxy`: the first bytes cannot start a header (neither `PROXY ` nor the v2 signature);
 * - `malformed`: they start one that breaks the spec, `reason` says how;
 * - `header`: a whole header of `length` bytes; `rest` is what follows it in the last
 *   chunk fed: the client's first data, not to be lost.
 */
export type ProxyDecodeResult =
  | { readonly kind: 'more' }
  | { readonly kind: 'not-proxy' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'header'; readonly header: ProxyHeader; readonly length: number; readonly rest: Buffer };

/** What a complete, pure look at a buffer answers: a header with its length, or why not yet or not at all. */
export type ProxyExamined =
  | { readonly kind: 'more' }
  | { readonly kind: 'not-proxy' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'header'; readonly header: ProxyHeader; readonly length: number };

export const MORE = Object.freeze({ kind: 'more' as const });
export const NOT_PROXY = Object.freeze({ kind: 'not-proxy' as const });
export const malformed = (reason: string): { readonly kind: 'malformed'; readonly reason: string } => ({ kind: 'malformed', reason });

/** A port is an integer from 0 to 65535. */
export const isPort = (port: number): boolean => Number.isInteger(port) && port >= 0 && port <= 65_535;
