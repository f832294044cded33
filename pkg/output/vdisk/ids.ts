// Deterministic identifiers. A virtual disk's IDs (VHD unique ID, VHDX GUIDs
// and page 83 data, VMDK CID and uuid) must not come from the clock or a
// random source, so each is derived from a digest of the raw image's content,
// a label naming the field, and an optional caller seed:
//
//   uuid = SHA-256(JSON ["keel-vdisk-id/v1", label, seed, contentDigestHex])[0..16]
//          with the version nibble set to 4 and the variant bits to 10
//
// so the IDs look like (and are as unique as) random version-4 UUIDs, yet
// the same image gives the same IDs. Two images with the same content get the
// same IDs; a caller that needs them to differ passes a different seed.
import { createHash, type Hash } from 'node:crypto'

/** The unit the content digest (and every writer) scans the raw image in. */
export const UNIT = 64 * 1024

const ZERO_UNIT = Buffer.alloc(UNIT)

/**
 * SHA-256 over the image's content, independent of any output format: for
 * every 64 KiB unit that is not all zeros, its index (u64 big-endian) and its
 * bytes; then the raw size. Zero units cost a memcmp, never a hash, so a large
 * mostly-empty image digests fast. Units are fed in ascending order.
 */
export class ContentDigest {
  private readonly hash: Hash = createHash('sha256')
  private readonly index = Buffer.alloc(8)
  private nextUnit = 0

  /**
   * Feeds `buf` (a whole number of units; units past the end of the raw image
   * are zeros) that starts at unit `firstUnit`, and returns for each unit
   * whether it holds data.
   */
  update(buf: Buffer, firstUnit: number, nonZero: boolean[] = []): boolean[] {
    if (buf.length % UNIT !== 0) throw new Error(`content digest: ${buf.length} bytes is not a whole number of units`)
    if (firstUnit < this.nextUnit) throw new Error('content digest: units must come in ascending order')
    const n = buf.length / UNIT
    nonZero.length = n
    if (buf.equals(zeros(buf.length))) {
      nonZero.fill(false)
    } else {
      for (let i = 0; i < n; i++) {
        const unit = buf.subarray(i * UNIT, (i + 1) * UNIT)
        const data = !unit.equals(ZERO_UNIT)
        nonZero[i] = data
        if (data) {
          this.index.writeBigUInt64BE(BigInt(firstUnit + i))
          this.hash.update(this.index)
          this.hash.update(unit)
        }
      }
    }
    this.nextUnit = firstUnit + n
    return nonZero
  }

  /** The digest, given the raw image's size in bytes. */
  digest(rawSize: number): Buffer {
    this.hash.update(`size ${rawSize}`)
    return this.hash.digest()
  }
}

let zeroCache = Buffer.alloc(0)
/** A shared all-zero buffer of `n` bytes (never written to). */
export function zeros(n: number): Buffer {
  if (zeroCache.length < n) zeroCache = Buffer.alloc(n)
  return zeroCache.subarray(0, n)
}

/** A 16-byte UUID (RFC 4122 byte order) derived from the content digest, a label and a seed. */
export function deriveUuid(contentDigest: Buffer, label: string, seed = ''): Buffer {
  const h = createHash('sha256').update(JSON.stringify(['keel-vdisk-id/v1', label, seed, contentDigest.toString('hex')])).digest()
  const u = Buffer.from(h.subarray(0, 16))
  u[6] = (u[6]! & 0x0f) | 0x40
  u[8] = (u[8]! & 0x3f) | 0x80
  return u
}

/** The usual text form, xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, of RFC-order bytes. */
export function uuidString(u: Buffer): string {
  const h = u.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** Parses the text form into RFC-order bytes. */
export function parseUuid(s: string): Buffer {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)) throw new Error(`not a UUID: ${s}`)
  return Buffer.from(s.replace(/-/g, ''), 'hex')
}

/**
 * Microsoft's on-disk GUID layout of RFC-order bytes: Data1 (4 bytes), Data2
 * and Data3 (2 each) little-endian, Data4 (8) as is. VHDX stores every GUID
 * this way, so Windows shows the same text form uuidString gives.
 */
export function guidBytes(u: Buffer): Buffer {
  if (u.length !== 16) throw new Error('a GUID is 16 bytes')
  const g = Buffer.from(u)
  g.writeUInt32LE(u.readUInt32BE(0), 0)
  g.writeUInt16LE(u.readUInt16BE(4), 4)
  g.writeUInt16LE(u.readUInt16BE(6), 6)
  return g
}
