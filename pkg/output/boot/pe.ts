// Just enough of the PE/COFF format to place sections in an EFI stub and to
// make objcopy's output reproducible (it stamps the current time).

export interface PeLayout {
  imageBase: bigint
  sectionAlignment: number
  /** First relative address after the last section, aligned. */
  nextFreeRva: number
}

function offsets(pe: Buffer): { coff: number; optional: number; magic: number } {
  if (pe.readUInt16LE(0) !== 0x5a4d) throw new Error('not a PE file (no MZ header)')
  const coff = pe.readUInt32LE(0x3c)
  if (pe.readUInt32LE(coff) !== 0x00004550) throw new Error('not a PE file (no PE signature)')
  const optional = coff + 24
  return { coff, optional, magic: pe.readUInt16LE(optional) }
}

export function readPeLayout(pe: Buffer): PeLayout {
  const { coff, optional, magic } = offsets(pe)
  if (magic !== 0x20b) throw new Error('not a PE32+ image')
  const imageBase = pe.readBigUInt64LE(optional + 24)
  const sectionAlignment = pe.readUInt32LE(optional + 32)
  const sections = pe.readUInt16LE(coff + 6)
  const optionalSize = pe.readUInt16LE(coff + 20)
  let end = 0
  for (let i = 0; i < sections; i++) {
    const s = optional + optionalSize + i * 40
    const virtualSize = pe.readUInt32LE(s + 8)
    const virtualAddress = pe.readUInt32LE(s + 12)
    end = Math.max(end, virtualAddress + virtualSize)
  }
  return { imageBase, sectionAlignment, nextFreeRva: align(end, sectionAlignment) }
}

export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to
}

/** Sets the COFF time stamp and recomputes the optional header's checksum, in place. */
export function stampPe(pe: Buffer, epoch: number): void {
  const { coff, optional } = offsets(pe)
  pe.writeUInt32LE(epoch >>> 0, coff + 8)
  const checksumAt = optional + 64
  pe.writeUInt32LE(0, checksumAt)
  let sum = 0
  for (let i = 0; i + 1 < pe.length; i += 2) {
    if (i === checksumAt || i === checksumAt + 2) continue
    sum += pe.readUInt16LE(i)
    sum = (sum & 0xffff) + (sum >>> 16)
  }
  if (pe.length % 2 === 1) {
    sum += pe[pe.length - 1]!
    sum = (sum & 0xffff) + (sum >>> 16)
  }
  sum = (sum & 0xffff) + (sum >>> 16)
  pe.writeUInt32LE((sum + pe.length) >>> 0, checksumAt)
}
