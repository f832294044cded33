// VMDK monolithicSparse: one hosted sparse extent file (VMware "Virtual Disk
// Format" 1.1 / 5.0) with its text descriptor embedded. Fields little-endian,
// offsets in 512-byte sectors. Layout:
//
//   0            sparse extent header (1 sector)
//   1            descriptor (20 sectors, or more for a long file name)
//   rgdOffset    redundant grain directory, then its grain tables
//   gdOffset     grain directory, then its grain tables (same entries)
//   overHead     grains that hold data, 64 KiB each, in disk order
//
// Each grain table has 512 entries (32 MiB of disk); an entry of 0 is an
// unallocated grain, which reads as zeros. The capacity is the raw size
// rounded up to 512 bytes (no more, so a GPT backup header stays on the last
// LBA). There are no timestamps; the descriptor's CID and ddb.uuid are derived
// from the content (ids.ts).
//
// The adapter type is "lsilogic" unless told otherwise: the LSI Logic parallel
// SCSI controller is VMware's usual choice for Linux guests and every Linux
// kernel drives it (mptspi); its BIOS geometry is 255 heads x 63 sectors. "ide"
// uses 16 x 63 with at most 16383 cylinders. The descriptor names the extent by
// the output file's name, as VMware does (see VmdkOptions.fileName); renaming
// the file later is harmless for a monolithic disk, but the name is part of
// the output bytes.
import { basename } from 'node:path'
import { UserError } from '../../errors/index.js'
import { ContentDigest, deriveUuid } from './ids.js'
import { checkOptions, KiB, MiB, roundUp, scan, SECTOR, withRaw, writeAll, writeOutput, type VdiskOptions } from './raw.js'

export type VmdkAdapterType = 'lsilogic' | 'ide'

export interface VmdkOptions extends VdiskOptions {
  /** The virtual controller the descriptor names; "lsilogic" by default. */
  adapterType?: VmdkAdapterType
  /**
   * The file name the descriptor gives the extent (the file itself). By
   * default the base name of `out`, or, when `out` is a keel temporary name
   * (".NAME.PID.XXXXXXXX.tmp", as OutputSet.reserve makes), NAME: the name the
   * file will have, so the bytes do not depend on the temporary name.
   */
  fileName?: string
}

/** The extent name for output path `out`: its base name, with keel's temporary-name wrapping undone. */
export function vmdkExtentName(out: string): string {
  const name = basename(out)
  return /^\.(.+)\.\d+\.[0-9a-f]{8}\.tmp$/.exec(name)?.[1] ?? name
}

export const VMDK_GRAIN_SIZE = 64 * KiB
const GRAIN_SECTORS = VMDK_GRAIN_SIZE / SECTOR
const GTES_PER_GT = 512
const GT_SECTORS = (GTES_PER_GT * 4) / SECTOR
/** Grain table entries are 32-bit sector numbers, so the file ends before 2 TiB. */
const MAX_FILE_SECTORS = 2 ** 32 - 1

export interface VmdkGeometry {
  cylinders: number
  heads: number
  sectors: number
}

/** The ddb.geometry a disk of `capacity` sectors gets on the given adapter. */
export function vmdkGeometry(capacity: number, adapterType: VmdkAdapterType): VmdkGeometry {
  const heads = adapterType === 'ide' ? 16 : 255
  const sectors = 63
  let cylinders = Math.floor(capacity / (heads * sectors))
  if (adapterType === 'ide') cylinders = Math.min(cylinders, 16383)
  return { cylinders: Math.max(1, cylinders), heads, sectors }
}

/** The descriptor's CID: 32 bits of the content-derived ID, never the "no parent" value ffffffff (nor 0 or fffffffe). */
export function vmdkCid(id: Buffer): number {
  const cid = id.readUInt32BE(0)
  return cid === 0 || cid >= 0xfffffffe ? (cid ^ 0x01010101) >>> 0 : cid
}

/** VMware's text form of a disk UUID: "60 00 c2 9b ... 4f", a dash between the two 8-byte halves. */
export function vmdkUuidString(u: Buffer): string {
  const hex = [...u].map((x) => x.toString(16).padStart(2, '0'))
  return `${hex.slice(0, 8).join(' ')}-${hex.slice(8).join(' ')}`
}

export interface DescriptorFields {
  cid: number
  capacity: number
  fileName: string
  adapterType: VmdkAdapterType
  uuid: Buffer
}

export function vmdkDescriptor(d: DescriptorFields): string {
  const g = vmdkGeometry(d.capacity, d.adapterType)
  return [
    '# Disk DescriptorFile',
    'version=1',
    'encoding="UTF-8"',
    `CID=${d.cid.toString(16).padStart(8, '0')}`,
    'parentCID=ffffffff',
    'createType="monolithicSparse"',
    '',
    '# Extent description',
    `RW ${d.capacity} SPARSE ${JSON.stringify(d.fileName)}`,
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    'ddb.virtualHWVersion = "4"',
    `ddb.geometry.cylinders = "${g.cylinders}"`,
    `ddb.geometry.heads = "${g.heads}"`,
    `ddb.geometry.sectors = "${g.sectors}"`,
    `ddb.adapterType = "${d.adapterType}"`,
    `ddb.uuid = "${vmdkUuidString(d.uuid)}"`,
    '',
  ].join('\n')
}

export interface SparseLayout {
  capacity: number
  descriptorOffset: number
  descriptorSize: number
  numGTs: number
  rgdOffset: number
  gdOffset: number
  overHead: number
}

/** Where everything goes for a disk of `capacity` sectors and a descriptor of `descriptorBytes`. */
export function vmdkLayout(capacity: number, descriptorBytes: number): SparseLayout {
  const descriptorOffset = 1
  const descriptorSize = Math.max(20, Math.ceil(descriptorBytes / SECTOR))
  const numGTs = Math.ceil(Math.ceil(capacity / GRAIN_SECTORS) / GTES_PER_GT)
  const gdSectors = Math.ceil((numGTs * 4) / SECTOR)
  const rgdOffset = descriptorOffset + descriptorSize
  const gdOffset = rgdOffset + gdSectors + numGTs * GT_SECTORS
  const overHead = roundUp(gdOffset + gdSectors + numGTs * GT_SECTORS, GRAIN_SECTORS)
  return { capacity, descriptorOffset, descriptorSize, numGTs, rgdOffset, gdOffset, overHead }
}

/** The 512-byte sparse extent header. */
export function vmdkHeader(l: SparseLayout): Buffer {
  const b = Buffer.alloc(SECTOR)
  b.write('KDMV', 0, 'latin1') // magic 0x564d444b, little-endian
  b.writeUInt32LE(1, 4) // version
  b.writeUInt32LE(0x3, 8) // flags: valid newline test, redundant grain table
  b.writeBigUInt64LE(BigInt(l.capacity), 12)
  b.writeBigUInt64LE(BigInt(GRAIN_SECTORS), 20)
  b.writeBigUInt64LE(BigInt(l.descriptorOffset), 28)
  b.writeBigUInt64LE(BigInt(l.descriptorSize), 36)
  b.writeUInt32LE(GTES_PER_GT, 44)
  b.writeBigUInt64LE(BigInt(l.rgdOffset), 48)
  b.writeBigUInt64LE(BigInt(l.gdOffset), 56)
  b.writeBigUInt64LE(BigInt(l.overHead), 64)
  b.writeUInt8(0, 72) // clean shutdown
  b.write('\n \r\n', 73, 'latin1') // newline detection characters
  b.writeUInt16LE(0, 77) // no compression
  return b
}

/** A grain directory and its tables as they sit in the file from `gdOffset`. */
function directoryAndTables(l: SparseLayout, gdOffset: number, gtes: Uint32Array): Buffer {
  const gdSectors = Math.ceil((l.numGTs * 4) / SECTOR)
  const b = Buffer.alloc((gdSectors + l.numGTs * GT_SECTORS) * SECTOR)
  for (let i = 0; i < l.numGTs; i++) b.writeUInt32LE(gdOffset + gdSectors + i * GT_SECTORS, i * 4)
  const tables = b.subarray(gdSectors * SECTOR)
  for (let i = 0; i < gtes.length; i++) if (gtes[i]) tables.writeUInt32LE(gtes[i]!, i * 4)
  return b
}

/** Writes a monolithicSparse VMDK of the raw image (see the top of this file). */
export async function writeVmdk(raw: string, out: string, o: VmdkOptions): Promise<void> {
  checkOptions(o)
  const adapterType = o.adapterType ?? 'lsilogic'
  if (adapterType !== 'lsilogic' && adapterType !== 'ide') throw new UserError(`a VMDK adapter type is "lsilogic" or "ide", not ${JSON.stringify(adapterType)}`)
  const fileName = o.fileName ?? vmdkExtentName(out)
  if (fileName === '' || /["\\/\p{Cc}]/u.test(fileName)) throw new UserError(`the VMDK file name ${JSON.stringify(fileName)} cannot go in its descriptor`)
  await withRaw(raw, out, async (r) => {
    const capacity = roundUp(r.size, SECTOR) / SECTOR
    const describe = (id: Buffer): Buffer =>
      Buffer.from(vmdkDescriptor({ cid: vmdkCid(id), capacity, fileName, adapterType, uuid: id }))
    const l = vmdkLayout(capacity, describe(Buffer.alloc(16)).length)
    const grains = Math.ceil(capacity / GRAIN_SECTORS)
    if (l.overHead + grains * GRAIN_SECTORS > MAX_FILE_SECTORS) {
      throw new UserError(`the raw disk image ${raw} is ${r.size} bytes; a monolithicSparse VMDK holds less than 2 TiB`)
    }
    const gtes = new Uint32Array(l.numGTs * GTES_PER_GT)
    let next = l.overHead
    await writeOutput(out, async (fh) => {
      const digest = new ContentDigest()
      const chunk = MiB
      for await (const c of scan(r, roundUp(grains * VMDK_GRAIN_SIZE, chunk), chunk, digest)) {
        if (!c.any) continue
        // Grains that hold data go to the file in disk order, so a run of them is one write.
        const first = next
        let packed = 0
        for (let i = 0; i < c.nonZero.length; i++) {
          if (!c.nonZero[i]) continue
          gtes[c.offset / VMDK_GRAIN_SIZE + i] = next
          if (packed !== i) c.buf.copy(c.buf, packed * VMDK_GRAIN_SIZE, i * VMDK_GRAIN_SIZE, (i + 1) * VMDK_GRAIN_SIZE)
          packed++
          next += GRAIN_SECTORS
        }
        await writeAll(fh, c.buf.subarray(0, packed * VMDK_GRAIN_SIZE), first * SECTOR)
      }
      await fh.truncate(next * SECTOR)
      const id = deriveUuid(digest.digest(r.size), 'vmdk disk id', o.seed)
      const descriptor = describe(id)
      await writeAll(fh, vmdkHeader(l), 0)
      await writeAll(fh, descriptor, l.descriptorOffset * SECTOR)
      await writeAll(fh, directoryAndTables(l, l.rgdOffset, gtes), l.rgdOffset * SECTOR)
      await writeAll(fh, directoryAndTables(l, l.gdOffset, gtes), l.gdOffset * SECTOR)
    })
  })
}
