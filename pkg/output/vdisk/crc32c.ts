// CRC-32C (Castagnoli), the checksum VHDX puts in its headers and region
// tables: reflected polynomial 0x82F63B78, initial value and final XOR
// 0xFFFFFFFF. Byte-at-a-time table; it only ever runs over a few KiB.

const TABLE = ((): Uint32Array => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32C of `data`; pass a previous result as `crc` to continue over more data. */
export function crc32c(data: Uint8Array | string, crc = 0): number {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data
  let c = ~crc >>> 0
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}
