import { examineV1, V1_MAX_LENGTH } from './proxy-v1.js';
import { examineV2, V2_FIXED_LENGTH, V2_MAX_LENGTH } from './proxy-v2.js';
import { MORE, NOT_PROXY, type ProxyDecodeResult, type ProxyExamined } from './proxy-types.js';

export { encodeProxyV1, V1_MAX_LENGTH } from './proxy-v1.js';
export { encodeProxyV2, V2_MAX_LENGTH, V2_SIGNATURE, type ProxyV2Fields } from './proxy-v2.js';
export type { ProxyAddress, ProxyDecodeResult, ProxyHeader, ProxyTlv, ProxyTlvs } from './proxy-types.js';

/**
 * Looks at the first bytes of a connection, `bytes[0, n)`, for a PROXY header of either
 * version: `PROXY ` starts v1, the v2 signature starts v2, anything else is no header at
 * all. Never throws, and reads no byte outside `bytes[0, n)`.
 */
export function examineProxyHeader(bytes: Buffer, n = bytes.length): ProxyExamined {
  if (n === 0) return MORE;
  if (bytes[0] === 0x50) return examineV1(bytes, n);
  if (bytes[0] === 0x0d) return examineV2(bytes, n);
  return NOT_PROXY;
}

/**
 * Reads a PROXY header from a connection's first chunks, however TCP split them: feed
 * each chunk to {@link push} until it answers something other than `more`. After that
 * it answers the same whatever it is fed.
 *
 * The usual case, a whole header at the front of the first chunk, is read in place.
 * Otherwise it copies the bytes the header can still need (at most 107 for v1, the
 * header's stated length for v2) into one buffer of its own, so a header fed a byte at
 * a time costs one small allocation, not one per byte, and never more than
 * {@link V2_MAX_LENGTH} plus 16 bytes.
 *
 * ```ts
 * const decoder = new ProxyHeaderDecoder();
 * socket.on('data', (chunk) => {
 *   const got = decoder.push(chunk);
 *   if (got.kind === 'header') forward(got.rest); // the client's first bytes
 * });
 * ```
 */
export class ProxyHeaderDecoder {
  private held: Buffer | undefined;
  private heldLength = 0;
  private answer: ProxyDecodeResult | undefined;

  push(chunk: Buffer): ProxyDecodeResult {
    if (this.answer) return this.answer;
    const before = this.heldLength;
    let seen: ProxyExamined;
    if (this.held && before > 0) {
      this.hold(chunk);
      seen = examineProxyHeader(this.held, this.heldLength);
    } else seen = examineProxyHeader(chunk);
    if (seen.kind === 'more') {
      if (before === 0) this.hold(chunk);
      return MORE;
    }
    this.held = undefined;
    // the header ends in this chunk: what was held came before it
    this.answer = seen.kind === 'header' ? { kind: 'header', header: seen.header, length: seen.length, rest: chunk.subarray(seen.length - before) } : seen;
    return this.answer;
  }

  /** Copies from `chunk` what the header can still need. */
  private hold(chunk: Buffer): void {
    let offset = 0;
    for (;;) {
      const wanted = this.wanted();
      if (this.heldLength >= wanted || offset >= chunk.length) break;
      if (!this.held || this.held.length < wanted) {
        const larger = Buffer.allocUnsafe(wanted);
        this.held?.copy(larger, 0, 0, this.heldLength);
        this.held = larger;
      }
      const take = Math.min(wanted - this.heldLength, chunk.length - offset);
      chunk.copy(this.held, this.heldLength, offset, offset + take);
      this.heldLength += take;
      offset += take;
    }
  }

  /** How many bytes the header may take, from what is held: a v2 header says, v1 is bounded. */
  private wanted(): number {
    const held = this.held;
    if (held && this.heldLength >= V2_FIXED_LENGTH && held[0] === 0x0d) {
      return V2_FIXED_LENGTH + Math.min(V2_MAX_LENGTH, (held[14] ?? 0) * 256 + (held[15] ?? 0));
    }
    return V1_MAX_LENGTH;
  }
}
