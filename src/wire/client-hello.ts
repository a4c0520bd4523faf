/**
 * Reads the server name (SNI) and the ALPN protocols a TLS client offers from its
 * ClientHello, without decrypting anything and without consuming: the caller keeps every
 * byte it fed and forwards all of them to the backend, which does the handshake.
 */

/** The largest ClientHello rxlb reads, as a handshake message body: one full TLS record. */
export const CLIENT_HELLO_MAX_LENGTH = 16_384;
/** TLS records carry at most 2^14 bytes of plaintext (RFC 8446, 5.1). */
const RECORD_MAX_LENGTH = 16_384;
const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXTENSION_SERVER_NAME = 0;
const EXTENSION_ALPN = 16;
const NAME_TYPE_HOST = 0;

/**
 * What a connection's first bytes say, so far:
 * - `more`: the ClientHello is not complete yet; feed the next chunk;
 * - `not-tls`: the first bytes cannot start a TLS handshake record (the connection is
 *   not TLS, or an SSLv2-style hello, which carries no SNI);
 * - `malformed`: a TLS handshake that breaks the protocol, or a hello over
 *   {@link CLIENT_HELLO_MAX_LENGTH}; `reason` says which;
 * - `hello`: `sni` is the host name lower-cased (undefined when the client sent none),
 *   `alpn` the protocols offered, in the client's order (empty when none).
 */
export type ClientHelloResult =
  | { readonly kind: 'more' }
  | { readonly kind: 'not-tls' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'hello'; readonly sni: string | undefined; readonly alpn: readonly string[] };

const MORE = Object.freeze({ kind: 'more' as const });
const NOT_TLS = Object.freeze({ kind: 'not-tls' as const });
const malformed = (reason: string): ClientHelloResult => ({ kind: 'malformed', reason: `TLS ClientHello: ${reason}` });
const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

/**
 * Reads a ClientHello from a connection's first chunks, however TCP split them and
 * however the client split the hello into TLS records (a handshake message may span
 * several). Feed each chunk to {@link push} until it answers something other than
 * `more`; after that it answers the same whatever it is fed. Bytes after the hello (in
 * its last record or after it) are not looked at.
 *
 * It never throws and allocates nothing per byte: record headers are read into a few
 * numbers, and the hello itself is read in place when one chunk holds it inside one
 * record (the usual case), else copied once into a buffer of exactly its length.
 *
 * ```ts
 * const reader = new ClientHelloReader();
 * const seen = reader.push(chunk); // then forward chunk, as is, when routed
 * if (seen.kind === 'hello') route(seen.sni, seen.alpn);
 * ```
 */
export class ClientHelloReader {
  private answer: ClientHelloResult | undefined;
  private firstRecord = true;
  /** Bytes of the current record's 5-byte header read so far. */
  private recordHeaderSeen = 0;
  private recordLength = 0;
  /** Bytes of the current record's body not read yet. */
  private recordLeft = 0;
  /** Bytes of the 4-byte handshake header read so far, and what it says. */
  private handshakeHeaderSeen = 0;
  private messageLength = 0;
  /** The hello's body, when it spans chunks or records; filled up to `messageFilled`. */
  private message: Buffer | undefined;
  private messageFilled = 0;

  push(chunk: Buffer): ClientHelloResult {
    if (this.answer) return this.answer;
    let i = 0;
    while (i < chunk.length) {
      if (this.recordHeaderSeen < 5) {
        this.answer = this.recordHeaderByte(chunk[i] ?? 0);
        i += 1;
      } else i = this.recordBody(chunk, i);
      if (this.answer) return this.answer;
    }
    return MORE;
  }

  /** One byte of a record header; an answer when it shows the bytes are not, or no longer, a hello. */
  private recordHeaderByte(b: number): ClientHelloResult | undefined {
    const at = this.recordHeaderSeen;
    this.recordHeaderSeen += 1;
    if (at === 0 && b !== RECORD_HANDSHAKE) {
      return this.firstRecord ? NOT_TLS : malformed(`a record of type ${hex2(b)} came before the hello was complete`);
    }
    if ((at === 1 && b !== 3) || (at === 2 && b > 4)) {
      return this.firstRecord ? NOT_TLS : malformed('a record with a version other than TLS 1.x came before the hello was complete');
    }
    if (at === 3) this.recordLength = b * 256;
    if (at === 4) {
      this.recordLength += b;
      this.recordLeft = this.recordLength;
      if (this.recordLength === 0) return malformed('an empty handshake record');
      if (this.recordLength > RECORD_MAX_LENGTH) return malformed(`a record of ${this.recordLength} bytes, over the ${RECORD_MAX_LENGTH} TLS allows`);
    }
    return undefined;
  }

  /** Reads what `chunk` holds of the current record's body from `i`; gives where it stopped. */
  private recordBody(chunk: Buffer, i: number): number {
    let p = i;
    const end = Math.min(chunk.length, i + this.recordLeft);
    while (p < end && this.handshakeHeaderSeen < 4) {
      this.answer = this.handshakeHeaderByte(chunk[p] ?? 0);
      p += 1;
      if (this.answer) return p;
    }
    if (p < end) {
      if (!this.message && this.messageFilled === 0 && end - p >= this.messageLength) {
        // the whole hello is here, inside this record: read it where it is
        this.answer = readHello(chunk.subarray(p, p + this.messageLength));
        return end;
      }
      this.message ??= Buffer.allocUnsafe(this.messageLength);
      const take = Math.min(end - p, this.messageLength - this.messageFilled);
      chunk.copy(this.message, this.messageFilled, p, p + take);
      this.messageFilled += take;
      p += take;
      if (this.messageFilled === this.messageLength) {
        this.answer = readHello(this.message);
        return p;
      }
    }
    this.recordLeft -= p - i;
    if (this.recordLeft === 0) {
      this.recordHeaderSeen = 0;
      this.firstRecord = false;
    }
    return p;
  }

  private handshakeHeaderByte(b: number): ClientHelloResult | undefined {
    const at = this.handshakeHeaderSeen;
    this.handshakeHeaderSeen += 1;
    if (at === 0 && b !== HANDSHAKE_CLIENT_HELLO) return malformed(`the first handshake message is of type ${hex2(b)}, not a ClientHello (0x01)`);
    if (at > 0) this.messageLength = this.messageLength * 256 + b;
    if (at === 3) {
      if (this.messageLength > CLIENT_HELLO_MAX_LENGTH) {
        return malformed(`a hello of ${this.messageLength} bytes is larger than rxlb reads (16 KiB)`);
      }
      if (this.messageLength === 0) return readHello(Buffer.alloc(0));
    }
    return undefined;
  }
}

/** Reads the body of a ClientHello (RFC 8446, 4.1.2; RFC 6066, 3; RFC 7301, 3.1). */
export function readHello(body: Buffer): ClientHelloResult {
  const n = body.length;
  if (n < 2 + 32 + 1) return malformed(`a hello of ${n} bytes is too short`);
  if (body[0] !== 3) return malformed(`client version ${hex2(body[0] ?? 0)}${(body[1] ?? 0).toString(16).padStart(2, '0')} is not TLS 1.x`);
  let p = 34;
  const sessionId = body[p] ?? 0;
  if (sessionId > 32) return malformed(`a session id of ${sessionId} bytes, over 32`);
  p += 1 + sessionId;
  if (p + 2 > n) return malformed('it ends before its cipher suites');
  const suites = u16(body, p);
  if (suites < 2 || suites % 2 !== 0) return malformed(`a cipher suite list of ${suites} bytes`);
  p += 2 + suites;
  if (p + 1 > n) return malformed('it ends before its compression methods');
  const compressions = body[p] ?? 0;
  if (compressions < 1) return malformed('no compression method');
  p += 1 + compressions;
  if (p === n) return { kind: 'hello', sni: undefined, alpn: [] };
  if (p + 2 > n) return malformed('it ends inside its compression methods or extensions length');
  const extensionsEnd = p + 2 + u16(body, p);
  if (extensionsEnd !== n) return malformed(`its extensions length says ${extensionsEnd - p - 2} bytes, but ${n - p - 2} follow`);
  p += 2;
  let sni: string | undefined;
  let alpn: string[] | undefined;
  while (p < extensionsEnd) {
    if (p + 4 > extensionsEnd) return malformed('an extension header runs past the extensions');
    const type = u16(body, p);
    const to = p + 4 + u16(body, p + 2);
    if (to > extensionsEnd) return malformed(`extension ${type} runs past the extensions`);
    if (type === EXTENSION_SERVER_NAME) {
      if (sni !== undefined) return malformed('two server_name extensions');
      const name = readServerName(body, p + 4, to);
      if (name.reason !== undefined) return malformed(name.reason);
      sni = name.host ?? '';
    } else if (type === EXTENSION_ALPN) {
      if (alpn !== undefined) return malformed('two ALPN extensions');
      const protocols = readAlpn(body, p + 4, to);
      if (typeof protocols === 'string') return malformed(protocols);
      alpn = protocols;
    }
    p = to;
  }
  return { kind: 'hello', sni: sni === '' ? undefined : sni, alpn: alpn ?? [] };
}

const u16 = (bytes: Buffer, at: number): number => (bytes[at] ?? 0) * 256 + (bytes[at + 1] ?? 0);

/** The host_name of a server_name extension in `bytes[from, to)`, lower-cased; or what is wrong. */
function readServerName(bytes: Buffer, from: number, to: number): { host?: string; reason?: string } {
  if (to - from < 2 || from + 2 + u16(bytes, from) !== to) return { reason: 'a server_name list whose length does not match its extension' };
  let host: string | undefined;
  for (let p = from + 2; p < to; ) {
    if (p + 3 > to) return { reason: 'a server name entry runs past its list' };
    const type = bytes[p] ?? 0;
    const end = p + 3 + u16(bytes, p + 1);
    if (end > to) return { reason: 'a server name runs past its list' };
    if (type === NAME_TYPE_HOST) {
      if (host !== undefined) return { reason: 'two host names in server_name' };
      if (end === p + 3) return { reason: 'an empty host name' };
      for (let k = p + 3; k < end; k += 1) {
        const c = bytes[k] ?? 0;
        if (c <= 0x20 || c >= 0x7f) return { reason: `byte ${hex2(c)} in the host name is not printable US-ASCII` };
      }
      host = bytes.toString('latin1', p + 3, end).toLowerCase();
    }
    p = end;
  }
  return { host };
}

/** The protocol names of an ALPN extension in `bytes[from, to)`, or what is wrong. */
function readAlpn(bytes: Buffer, from: number, to: number): string[] | string {
  if (to - from < 2 || from + 2 + u16(bytes, from) !== to) return 'an ALPN list whose length does not match its extension';
  if (to - from === 2) return 'an empty ALPN list';
  const names: string[] = [];
  for (let p = from + 2; p < to; ) {
    const length = bytes[p] ?? 0;
    if (length === 0) return 'an empty ALPN protocol name';
    if (p + 1 + length > to) return 'an ALPN protocol name runs past its list';
    // one character per byte: names are bytes, and any of them survives
    names.push(bytes.toString('latin1', p + 1, p + 1 + length));
    p += 1 + length;
  }
  return names;
}
