/**
 * The hashing shared by the consistent-hash policies (`source-hash`, `maglev`): a
 * seeded 32-bit MurmurHash3 (x86_32) over a string's UTF-8 bytes, and the client key
 * they hash by default. Pure functions, no state.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const utf8 = new TextEncoder();

/**
 * MurmurHash3 (x86, 32-bit) of `text` as UTF-8, with a seed: an unsigned 32-bit integer
 * whose bits all depend on every input byte (the final mix spreads them), so taking it
 * modulo a table size is fair. Different seeds give unrelated hashes of the same text,
 * which is how Maglev gets its two hashes per backend.
 *
 * 1. read the bytes four at a time, little-endian; scramble each block (multiply,
 *    rotate 15, multiply) and fold it into the state (xor, rotate 13, `h * 5 + n`);
 * 2. scramble the one to three bytes left over the same way and xor them in;
 * 3. xor in the length, then the finalizer: xor-shift 16, multiply, xor-shift 13,
 *    multiply, xor-shift 16.
 *
 * ```ts
 * murmur3('127.0.0.1') % 65537; // the same slot every time, on every machine
 * ```
 */
export function murmur3(text: string, seed = 0): number {
  const bytes = asciiOnly(text) ? undefined : utf8.encode(text);
  const length = bytes ? bytes.length : text.length;
  const at = bytes ? (i: number): number => bytes[i] ?? 0 : (i: number): number => text.charCodeAt(i);
  let h = seed >>> 0;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    const k = at(i) | (at(i + 1) << 8) | (at(i + 2) << 16) | (at(i + 3) << 24);
    h ^= scramble(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = length - whole;
  if (rest > 0) {
    let tail = at(whole);
    if (rest > 1) tail |= at(whole + 1) << 8;
    if (rest > 2) tail |= at(whole + 2) << 16;
    h ^= scramble(tail);
  }
  h ^= length;
  return fmix32(h);
}

/**
 * MurmurHash3 (x86, 32-bit) of one 32-bit integer, as its four bytes little-endian:
 * the same value `murmur3` gives for those bytes, without a string. Hashing a cached
 * backend hash with a client's hash as the seed makes a fresh, independent number per
 * (client, backend) pair in a few multiplications.
 */
export function murmur3Int(value: number, seed = 0): number {
  let h = (seed >>> 0) ^ scramble(value | 0);
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  return fmix32(h ^ 4);
}

/** Murmur3's final avalanche: every input bit flips each output bit with probability about 1/2. */
export function fmix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The part of a client address that identifies the client: its IP, with an
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, as a dual-stack listener reports it)
 * written as plain IPv4, so a client hashes alike whichever way it was accepted.
 * The port is left out on purpose: it changes with every connection.
 */
export function clientIp(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function scramble(block: number): number {
  let k = Math.imul(block, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function asciiOnly(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
