/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum a PROXY v2 header may carry. */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * Continues a CRC-32C over `bytes[start, end)`; start from `crc32cInit`, end with
 * `crc32cFinish`. Split in three so that a checksum can skip over its own field.
 */
export function crc32cUpdate(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = crc;
  for (let i = start; i < end; i += 1) c = (TABLE[(c ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return c;
}

export const crc32cInit = 0xffffffff;
export const crc32cFinish = (crc: number): number => (crc ^ 0xffffffff) >>> 0;

/** The CRC-32C of `bytes[start, end)`. */
export const crc32c = (bytes: Uint8Array, start = 0, end = bytes.length): number => crc32cFinish(crc32cUpdate(crc32cInit, bytes, start, end));
