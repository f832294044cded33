// Partition tables written byte by byte (no fdisk, no loop devices): a BIOS
// MBR, and GPT with its protective MBR. Every identifier is derived from a
// seed, so the same disk is the same bytes every time.
import { createHash } from 'node:crypto'

export const sector = 512

let crcTable: Uint32Array | undefined
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      crcTable[n] = c >>> 0
    }
  }
  let c = 0xffffffff
  for (const b of data) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** A GUID from a seed, in the mixed-endian byte order GPT stores. */
export function guidFrom(seed: string): Buffer {
  const h = createHash('sha256').update(seed).digest().subarray(0, 16)
  h[7] = (h[7]! & 0x0f) | 0x40 // version 4 (in the little-endian third field)
  h[8] = (h[8]! & 0x3f) | 0x80 // variant
  return Buffer.from(h)
}

/** A GUID string ("C12A7328-F81F-11D2-BA4B-00A0C93EC93B") in GPT byte order. */
export function guidBytes(text: string): Buffer {
  const hex = text.replace(/-/g, '')
  const b = Buffer.from(hex, 'hex')
  const out = Buffer.alloc(16)
  out.writeUInt32LE(b.readUInt32BE(0), 0)
  out.writeUInt16LE(b.readUInt16BE(4), 4)
  out.writeUInt16LE(b.readUInt16BE(6), 6)
  b.copy(out, 8, 8, 16)
  return out
}

export const espType = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'
export const linuxDataType = '0FC63DAF-8483-4772-8E79-3D69D8477DE4'

export interface MbrPartition {
  firstLba: number
  sectors: number
  type: number
  bootable?: boolean
}

/** CHS for an LBA the old way (255 heads, 63 sectors); past 1023 cylinders, the "too big" value. */
function chs(lba: number): Buffer {
  const c = Math.floor(lba / (255 * 63))
  if (c > 1023) return Buffer.from([0xfe, 0xff, 0xff])
  const h = Math.floor(lba / 63) % 255
  const s = (lba % 63) + 1
  return Buffer.from([h, ((c >> 2) & 0xc0) | s, c & 0xff])
}

/** The first sector: boot code (at most 440 bytes), a disk signature, up to four partitions. */
export function mbr(partitions: readonly MbrPartition[], bootCode: Buffer | undefined, signature: number): Buffer {
  const b = Buffer.alloc(sector)
  if (bootCode) {
    if (bootCode.length > 440) throw new Error('MBR boot code longer than 440 bytes')
    bootCode.copy(b, 0)
  }
  b.writeUInt32LE(signature >>> 0, 440)
  partitions.forEach((p, i) => {
    const at = 446 + i * 16
    b[at] = p.bootable ? 0x80 : 0
    chs(p.firstLba).copy(b, at + 1)
    b[at + 4] = p.type
    chs(p.firstLba + p.sectors - 1).copy(b, at + 5)
    b.writeUInt32LE(p.firstLba, at + 8)
    b.writeUInt32LE(Math.min(p.sectors, 0xffffffff), at + 12)
  })
  b[510] = 0x55
  b[511] = 0xaa
  return b
}

export interface GptPartition {
  type: string
  name: string
  firstLba: number
  lastLba: number
  attributes?: bigint
}

export interface GptLayout {
  /** Sector 0: the protective MBR. */
  protectiveMbr: Buffer
  /** Sectors 1..33: header and entries. */
  primary: Buffer
  /** The last 33 sectors: entries and backup header. */
  backup: Buffer
}

/** GPT for a disk of `totalSectors` sectors. */
export function gpt(totalSectors: number, partitions: readonly GptPartition[], seed: string): GptLayout {
  const entries = Buffer.alloc(128 * 128)
  partitions.forEach((p, i) => {
    const e = i * 128
    guidBytes(p.type).copy(entries, e)
    guidFrom(`${seed}/partition/${i}`).copy(entries, e + 16)
    entries.writeBigUInt64LE(BigInt(p.firstLba), e + 32)
    entries.writeBigUInt64LE(BigInt(p.lastLba), e + 40)
    entries.writeBigUInt64LE(p.attributes ?? 0n, e + 48)
    Buffer.from(p.name.slice(0, 36), 'utf16le').copy(entries, e + 56)
  })
  const entriesCrc = crc32(entries)
  const lastLba = totalSectors - 1
  const header = (current: number, backup: number, entriesLba: number): Buffer => {
    const h = Buffer.alloc(sector)
    h.write('EFI PART', 0, 'latin1')
    h.writeUInt32LE(0x00010000, 8)
    h.writeUInt32LE(92, 12)
    h.writeBigUInt64LE(BigInt(current), 24)
    h.writeBigUInt64LE(BigInt(backup), 32)
    h.writeBigUInt64LE(34n, 40)
    h.writeBigUInt64LE(BigInt(lastLba - 33), 48)
    guidFrom(`${seed}/disk`).copy(h, 56)
    h.writeBigUInt64LE(BigInt(entriesLba), 72)
    h.writeUInt32LE(128, 80)
    h.writeUInt32LE(128, 84)
    h.writeUInt32LE(entriesCrc, 88)
    h.writeUInt32LE(crc32(h.subarray(0, 92)), 16)
    return h
  }
  const protectiveMbr = mbr([{ firstLba: 1, sectors: Math.min(totalSectors - 1, 0xffffffff), type: 0xee }], undefined, 0)
  return {
    protectiveMbr,
    primary: Buffer.concat([header(1, lastLba, 2), entries]),
    backup: Buffer.concat([entries, header(lastLba, 1, lastLba - 32)]),
  }
}
