// VHDX version 1 ([MS-VHDX]), dynamic, written in one pass. All fields are
// little-endian and every GUID is stored in Microsoft's layout. File layout,
// everything 1 MiB-aligned:
//
//   0        file type identifier (64 KiB), header 1 (at 64 KiB) and 2 (128 KiB),
//            region table 1 (192 KiB) and 2 (256 KiB), reserved up to 1 MiB
//   1 MiB    log, 1 MiB, empty (LogGuid zero: nothing to replay)
//   2 MiB    metadata region, 1 MiB: file parameters, virtual disk size, page 83
//            data (the virtual disk ID), logical (512) and physical (4096) sector size
//   3 MiB    BAT, rounded up to 1 MiB
//   then     the payload blocks that hold data, in disk order: 1 MiB each by
//            default, or blockSize (32 MiB is Hyper-V's own default)
//
// The virtual size is the raw size rounded up to 512 bytes (no more: padding
// would leave a GPT backup header short of the disk's last LBA). All-zero
// blocks stay PAYLOAD_BLOCK_NOT_PRESENT, which a non-differencing disk reads
// as zeros; sector bitmap entries are all NOT_PRESENT.
//
// Headers carry no timestamps. FileWriteGuid, DataWriteGuid and the page 83
// virtual disk ID are derived from the content (ids.ts). LogGuid is zero, as
// the spec has it for an empty log: a non-zero LogGuid tells a reader to look
// for log entries to replay. Such a disk is what Hyper-V generation 2 VMs (UEFI)
// boot from, given a GPT/EFI system partition inside.
import { UserError } from '../../errors/index.js'
import { crc32c } from './crc32c.js'
import { ContentDigest, deriveUuid, guidBytes, parseUuid } from './ids.js'
import { checkOptions, KiB, MiB, roundUp, scan, SECTOR, withRaw, writeAll, writeDataUnits, writeOutput, type VdiskOptions } from './raw.js'

export interface VhdxOptions extends VdiskOptions {
  /**
   * Payload block size in bytes: a power of two from 1 MiB to 256 MiB.
   * Default 1 MiB, what Microsoft recommends for Linux guests on dynamic VHDX
   * (ext4 and friends spread metadata over the disk) and what keeps a
   * mostly-empty image small; Hyper-V's own default is 32 MiB.
   */
  blockSize?: number
}

export const VHDX_DEFAULT_BLOCK_SIZE = 1 * MiB
export const VHDX_MAX_SIZE = 64 * 1024 * 1024 * MiB // 64 TiB
export const VHDX_LOGICAL_SECTOR = 512
export const VHDX_PHYSICAL_SECTOR = 4096

const guid = (s: string): Buffer => guidBytes(parseUuid(s))
export const VHDX_GUID = {
  bat: guid('2dc27766-f623-4200-9d64-115e9bfd4a08'),
  metadata: guid('8b7ca206-4790-4b9a-b8fe-575f050f886e'),
  fileParameters: guid('caa16737-fa36-4d43-b3b6-33f0aa44e76b'),
  virtualDiskSize: guid('2fa54224-cd1b-4876-b211-5dbed83bf4b8'),
  page83: guid('beca12ab-b2e6-4523-93ef-c309e000c746'),
  logicalSectorSize: guid('8141bf1d-a96f-4709-ba47-f233a8faab5f'),
  physicalSectorSize: guid('cda348c7-445d-4471-9cc9-e9885251c556'),
}

const LOG_OFFSET = 1 * MiB
const LOG_LENGTH = 1 * MiB
const METADATA_OFFSET = 2 * MiB
const METADATA_LENGTH = 1 * MiB
const BAT_OFFSET = 3 * MiB

const PAYLOAD_BLOCK_FULLY_PRESENT = 6n

/** How many payload blocks one sector bitmap block covers: 2^23 sectors' worth. */
export function chunkRatio(blockSize: number, logicalSector = VHDX_LOGICAL_SECTOR): number {
  return (2 ** 23 * logicalSector) / blockSize
}

/** The BAT's entry count for a non-differencing disk: payload entries with a sector bitmap entry after every chunkRatio of them. */
export function batEntries(virtualSize: number, blockSize: number): number {
  const payload = Math.ceil(virtualSize / blockSize)
  return payload + Math.floor((payload - 1) / chunkRatio(blockSize))
}

/** The 64 KiB file type identifier. */
export function vhdxFileIdentifier(): Buffer {
  const b = Buffer.alloc(64 * KiB)
  b.write('vhdxfile', 0, 'latin1')
  b.write('keel', 8, 'utf16le') // creator, up to 256 UTF-16 characters
  return b
}

export interface HeaderFields {
  sequence: bigint
  fileWriteGuid: Buffer
  dataWriteGuid: Buffer
}

/** A 4 KiB header (each header sits in a 64 KiB slot, the rest zero). */
export function vhdxHeader(h: HeaderFields): Buffer {
  const b = Buffer.alloc(4 * KiB)
  b.write('head', 0, 'latin1')
  b.writeBigUInt64LE(h.sequence, 8)
  h.fileWriteGuid.copy(b, 16)
  h.dataWriteGuid.copy(b, 32)
  // 48: LogGuid zero (empty log); 64: LogVersion 0
  b.writeUInt16LE(1, 66) // version
  b.writeUInt32LE(LOG_LENGTH, 68)
  b.writeBigUInt64LE(BigInt(LOG_OFFSET), 72)
  b.writeUInt32LE(crc32c(b), 4)
  return b
}

/** The 64 KiB region table: the BAT and the metadata region, both required. */
export function vhdxRegionTable(batLength: number): Buffer {
  const b = Buffer.alloc(64 * KiB)
  b.write('regi', 0, 'latin1')
  b.writeUInt32LE(2, 8)
  const entry = (i: number, id: Buffer, offset: number, length: number): void => {
    const at = 16 + i * 32
    id.copy(b, at)
    b.writeBigUInt64LE(BigInt(offset), at + 16)
    b.writeUInt32LE(length, at + 24)
    b.writeUInt32LE(1, at + 28) // required
  }
  entry(0, VHDX_GUID.bat, BAT_OFFSET, batLength)
  entry(1, VHDX_GUID.metadata, METADATA_OFFSET, METADATA_LENGTH)
  b.writeUInt32LE(crc32c(b), 4)
  return b
}

/** The 1 MiB metadata region: the table (64 KiB) and the items packed after it. */
export function vhdxMetadata(virtualSize: number, blockSize: number, page83: Buffer): Buffer {
  const b = Buffer.alloc(METADATA_LENGTH)
  const IS_VIRTUAL_DISK = 2
  const IS_REQUIRED = 4
  const items: Array<[Buffer, Buffer, number]> = []
  const u32 = (n: number): Buffer => { const x = Buffer.alloc(4); x.writeUInt32LE(n); return x }
  const fileParameters = Buffer.alloc(8)
  fileParameters.writeUInt32LE(blockSize, 0) // flags at 4: LeaveBlocksAllocated 0, HasParent 0
  items.push([VHDX_GUID.fileParameters, fileParameters, IS_REQUIRED])
  const size = Buffer.alloc(8)
  size.writeBigUInt64LE(BigInt(virtualSize))
  items.push([VHDX_GUID.virtualDiskSize, size, IS_VIRTUAL_DISK | IS_REQUIRED])
  items.push([VHDX_GUID.page83, page83, IS_VIRTUAL_DISK | IS_REQUIRED])
  items.push([VHDX_GUID.logicalSectorSize, u32(VHDX_LOGICAL_SECTOR), IS_VIRTUAL_DISK | IS_REQUIRED])
  items.push([VHDX_GUID.physicalSectorSize, u32(VHDX_PHYSICAL_SECTOR), IS_VIRTUAL_DISK | IS_REQUIRED])

  b.write('metadata', 0, 'latin1')
  b.writeUInt16LE(items.length, 10)
  let offset = 64 * KiB
  items.forEach(([id, data, flags], i) => {
    const at = 32 + i * 32
    id.copy(b, at)
    b.writeUInt32LE(offset, at + 16)
    b.writeUInt32LE(data.length, at + 20)
    b.writeUInt32LE(flags, at + 24)
    data.copy(b, offset)
    offset += data.length
  })
  return b
}

/** Writes a dynamic VHDX of the raw image (see the top of this file). */
export async function writeVhdx(raw: string, out: string, o: VhdxOptions): Promise<void> {
  checkOptions(o)
  const blockSize = o.blockSize ?? VHDX_DEFAULT_BLOCK_SIZE
  if (!Number.isInteger(blockSize) || blockSize < MiB || blockSize > 256 * MiB || (blockSize & (blockSize - 1)) !== 0) {
    throw new UserError(`a VHDX block size must be a power of two from 1 MiB to 256 MiB, not ${blockSize}`)
  }
  await withRaw(raw, out, async (r) => {
    const size = roundUp(r.size, SECTOR)
    if (size > VHDX_MAX_SIZE) throw new UserError(`the raw disk image ${raw} is ${r.size} bytes; a VHDX holds at most 64 TiB`)
    const payloadBlocks = Math.ceil(size / blockSize)
    const ratio = chunkRatio(blockSize)
    const bat = Buffer.alloc(roundUp(batEntries(size, blockSize) * 8, MiB))
    let next = BAT_OFFSET + bat.length
    await writeOutput(out, async (fh) => {
      const digest = new ContentDigest()
      for await (const c of scan(r, payloadBlocks * blockSize, blockSize, digest)) {
        if (!c.any) continue
        const block = c.offset / blockSize
        const index = block + Math.floor(block / ratio)
        bat.writeBigUInt64LE((BigInt(next / MiB) << 20n) | PAYLOAD_BLOCK_FULLY_PRESENT, index * 8)
        await writeDataUnits(fh, c.buf, c.nonZero, next)
        next += blockSize
      }
      await fh.truncate(next)
      const d = digest.digest(r.size)
      const id = (label: string): Buffer => guidBytes(deriveUuid(d, label, o.seed))
      const fileWriteGuid = id('vhdx file write guid')
      const dataWriteGuid = id('vhdx data write guid')
      await writeAll(fh, vhdxFileIdentifier(), 0)
      await writeAll(fh, vhdxHeader({ sequence: 0n, fileWriteGuid, dataWriteGuid }), 64 * KiB)
      await writeAll(fh, vhdxHeader({ sequence: 1n, fileWriteGuid, dataWriteGuid }), 128 * KiB)
      const regions = vhdxRegionTable(bat.length)
      await writeAll(fh, regions, 192 * KiB)
      await writeAll(fh, regions, 256 * KiB)
      await writeAll(fh, vhdxMetadata(size, blockSize, id('vhdx page 83 virtual disk id')), METADATA_OFFSET)
      await writeAll(fh, bat, BAT_OFFSET)
    })
  })
}
