// VHD (Microsoft "Virtual Hard Disk Image Format Specification" 1.0), fixed
// and dynamic. All multi-byte fields are big-endian.
//
// Size. The spec derives a CHS geometry from the size, rounding down, and
// Virtual PC (and QEMU, for a creator application it does not know, which
// "keel" is) take the disk size from that geometry, while Hyper-V and Azure
// take the footer's Current Size. Azure also wants that size to be a whole
// number of MiB. keel makes all readers agree: the virtual size is the raw
// size rounded up to the next size that is a multiple of 1 MiB AND exactly
// cylinders x heads x sectors x 512 (or, for disks past the largest CHS
// geometry, about 127 GiB, any multiple of 1 MiB: there readers use Current
// Size). The raw data is padded with zeros to that size (see vhdVirtualSize;
// a disk builder that sizes its raw image with it beforehand avoids the
// padding, which otherwise leaves a GPT backup header short of the last LBA).
import { UserError } from '../../errors/index.js'
import { ContentDigest, deriveUuid, guidBytes } from './ids.js'
import { checkOptions, GiB, MiB, roundUp, scan, SECTOR, withRaw, writeAll, writeDataUnits, writeOutput, type VdiskOptions } from './raw.js'

export interface Chs {
  cylinders: number
  heads: number
  sectorsPerTrack: number
}

/** The geometry of the largest CHS disk, 65535 x 16 x 255 sectors (about 127.5 GiB). */
export const VHD_MAX_CHS_SECTORS = 65535 * 16 * 255

/** The CHS geometry the VHD spec (appendix "CHS Calculation") assigns to a disk of `totalSectors` sectors. */
export function vhdGeometry(totalSectors: number): Chs {
  let total = Math.min(totalSectors, VHD_MAX_CHS_SECTORS)
  total = Math.floor(total)
  let sectorsPerTrack: number
  let heads: number
  let cylinderTimesHeads: number
  if (total >= 65535 * 16 * 63) {
    sectorsPerTrack = 255
    heads = 16
    cylinderTimesHeads = Math.floor(total / sectorsPerTrack)
  } else {
    sectorsPerTrack = 17
    cylinderTimesHeads = Math.floor(total / sectorsPerTrack)
    heads = Math.floor((cylinderTimesHeads + 1023) / 1024)
    if (heads < 4) heads = 4
    if (cylinderTimesHeads >= heads * 1024 || heads > 16) {
      sectorsPerTrack = 31
      heads = 16
      cylinderTimesHeads = Math.floor(total / sectorsPerTrack)
    }
    if (cylinderTimesHeads >= heads * 1024) {
      sectorsPerTrack = 63
      heads = 16
      cylinderTimesHeads = Math.floor(total / sectorsPerTrack)
    }
  }
  return { cylinders: Math.floor(cylinderTimesHeads / heads), heads, sectorsPerTrack }
}

export function chsSectors(g: Chs): number {
  return g.cylinders * g.heads * g.sectorsPerTrack
}

/** Dynamic VHDs (and QEMU's reader, for both kinds) stop at 2040 GiB. */
export const VHD_MAX_DYNAMIC_SIZE = 2040 * GiB

/**
 * The virtual size a VHD of a raw image of `rawSize` bytes gets: the smallest
 * size >= rawSize that is a multiple of 1 MiB and that its own CHS geometry
 * describes exactly (or, at or past the largest geometry, the raw size rounded
 * up to 1 MiB). At most 255 MiB above the raw size rounded to 1 MiB.
 */
export function vhdVirtualSize(rawSize: number): number {
  if (!Number.isSafeInteger(rawSize) || rawSize <= 0) throw new Error(`bad disk size ${rawSize}`)
  for (let size = roundUp(rawSize, MiB); ; size += MiB) {
    const sectors = size / SECTOR
    if (sectors >= VHD_MAX_CHS_SECTORS || chsSectors(vhdGeometry(sectors)) === sectors) return size
  }
}

export const VHD_FIXED = 2
export const VHD_DYNAMIC = 3
/** Seconds from 1970-01-01 to 2000-01-01 UTC, the VHD epoch. */
export const VHD_EPOCH = 946684800

/** The footer's timestamp: seconds since 2000-01-01 UTC; epochs before 2000 become 0. */
export function vhdTimestamp(epoch: number): number {
  const t = Math.max(0, epoch - VHD_EPOCH)
  if (t > 0xffffffff) throw new UserError(`the epoch ${epoch} is past what a VHD timestamp holds (2136)`)
  return t
}

/** The VHD checksum: the one's complement of the byte sum, with the checksum field (4 bytes at `at`) taken as zero. */
export function vhdChecksum(buf: Uint8Array, at: number): number {
  let sum = 0
  for (let i = 0; i < buf.length; i++) if (i < at || i >= at + 4) sum += buf[i]!
  return ~sum >>> 0
}

export interface FooterFields {
  diskType: typeof VHD_FIXED | typeof VHD_DYNAMIC
  /** Offset of the dynamic disk header, or undefined for a fixed disk. */
  dataOffset?: number
  timestamp: number
  size: number
  uniqueId: Buffer
}

/** The 512-byte hard disk footer. */
export function vhdFooter(f: FooterFields): Buffer {
  const b = Buffer.alloc(512)
  b.write('conectix', 0, 'latin1')
  b.writeUInt32BE(0x00000002, 8) // features: the reserved bit that must always be set
  b.writeUInt32BE(0x00010000, 12) // file format version 1.0
  b.writeBigUInt64BE(f.dataOffset === undefined ? 0xffffffffffffffffn : BigInt(f.dataOffset), 16)
  b.writeUInt32BE(f.timestamp, 24)
  b.write('keel', 28, 'latin1') // creator application
  b.writeUInt32BE(0x00010000, 32) // creator version
  b.write('Wi2k', 36, 'latin1') // creator host OS
  b.writeBigUInt64BE(BigInt(f.size), 40) // original size
  b.writeBigUInt64BE(BigInt(f.size), 48) // current size
  const g = vhdGeometry(f.size / SECTOR)
  if (f.size % SECTOR !== 0 || (f.size / SECTOR < VHD_MAX_CHS_SECTORS && chsSectors(g) * SECTOR !== f.size)) {
    throw new Error(`VHD size ${f.size} is not one its geometry describes (see vhdVirtualSize)`)
  }
  b.writeUInt16BE(g.cylinders, 56)
  b.writeUInt8(g.heads, 58)
  b.writeUInt8(g.sectorsPerTrack, 59)
  b.writeUInt32BE(f.diskType, 60)
  guidBytes(f.uniqueId).copy(b, 68)
  // 84: saved state 0; 85..511 reserved, zero
  b.writeUInt32BE(vhdChecksum(b, 64), 64)
  return b
}

/** Dynamic disks: 2 MiB blocks, each preceded by a one-sector bitmap. */
export const VHD_BLOCK_SIZE = 2 * MiB
const BITMAP_SIZE = 512 // VHD_BLOCK_SIZE / SECTOR bits, rounded up to a sector

/** The 1024-byte dynamic disk header. */
export function vhdDynamicHeader(tableOffset: number, maxTableEntries: number): Buffer {
  const b = Buffer.alloc(1024)
  b.write('cxsparse', 0, 'latin1')
  b.writeBigUInt64BE(0xffffffffffffffffn, 8) // data offset: unused
  b.writeBigUInt64BE(BigInt(tableOffset), 16)
  b.writeUInt32BE(0x00010000, 24) // header version
  b.writeUInt32BE(maxTableEntries, 28)
  b.writeUInt32BE(VHD_BLOCK_SIZE, 32)
  // 40..: no parent (unique ID, timestamp, name, locators all zero)
  b.writeUInt32BE(vhdChecksum(b, 36), 36)
  return b
}

/**
 * Writes a fixed VHD: the raw data, zero-padded to vhdVirtualSize, then the
 * footer. Zero runs are left as holes in the output file.
 */
export async function writeFixedVhd(raw: string, out: string, o: VdiskOptions): Promise<void> {
  checkOptions(o)
  const timestamp = vhdTimestamp(o.epoch)
  await withRaw(raw, out, async (r) => {
    const size = vhdVirtualSize(r.size)
    await writeOutput(out, async (fh) => {
      const digest = new ContentDigest()
      for await (const c of scan(r, size, MiB, digest)) {
        if (c.any) await writeDataUnits(fh, c.buf, c.nonZero, c.offset)
      }
      const uniqueId = deriveUuid(digest.digest(r.size), 'vhd-fixed unique id', o.seed)
      await writeAll(fh, vhdFooter({ diskType: VHD_FIXED, timestamp, size, uniqueId }), size)
    })
  })
}

/**
 * Writes a dynamic VHD: footer copy, dynamic header, BAT, then every 2 MiB
 * block that holds data (a bitmap sector with all bits set, then the block),
 * in disk order, then the footer. All-zero blocks are left unallocated.
 */
export async function writeDynamicVhd(raw: string, out: string, o: VdiskOptions): Promise<void> {
  checkOptions(o)
  const timestamp = vhdTimestamp(o.epoch)
  await withRaw(raw, out, async (r) => {
    const size = vhdVirtualSize(r.size)
    if (size > VHD_MAX_DYNAMIC_SIZE) {
      throw new UserError(`the raw disk image ${raw} is ${r.size} bytes; a dynamic VHD holds at most 2040 GiB`, { hint: 'use VHDX' })
    }
    const entries = Math.ceil(size / VHD_BLOCK_SIZE)
    const tableOffset = 512 + 1024
    const bat = Buffer.alloc(roundUp(entries * 4, SECTOR), 0xff)
    let next = tableOffset + bat.length
    const bitmap = Buffer.alloc(BITMAP_SIZE, 0xff)
    await writeOutput(out, async (fh) => {
      const digest = new ContentDigest()
      for await (const c of scan(r, entries * VHD_BLOCK_SIZE, VHD_BLOCK_SIZE, digest)) {
        if (!c.any) continue
        bat.writeUInt32BE(next / SECTOR, (c.offset / VHD_BLOCK_SIZE) * 4)
        await writeAll(fh, bitmap, next)
        await writeDataUnits(fh, c.buf, c.nonZero, next + BITMAP_SIZE)
        next += BITMAP_SIZE + VHD_BLOCK_SIZE
      }
      const uniqueId = deriveUuid(digest.digest(r.size), 'vhd-dynamic unique id', o.seed)
      const footer = vhdFooter({ diskType: VHD_DYNAMIC, dataOffset: 512, timestamp, size, uniqueId })
      await writeAll(fh, footer, next) // the footer; this also sets the file's length
      await writeAll(fh, footer, 0) // and its copy at the start
      await writeAll(fh, vhdDynamicHeader(tableOffset, entries), 512)
      await writeAll(fh, bat, tableOffset)
    })
  })
}
