import t, { type Test } from 'tap'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { crc32c } from './crc32c.js'
import { guidBytes, parseUuid } from './ids.js'
import { batEntries, chunkRatio, VHDX_GUID, writeVhdx } from './vhdx.js'
import { makeRaw, MiB, touchedBlocks, qemuCheck, qemuInfo, qemuToRaw, sha256File, sha256Padded } from './testing.js'

const KiB = 1024

/** Checks the CRC-32C of a structure whose checksum sits at offset 4. */
function crcOk(b: Buffer): boolean {
  const copy = Buffer.from(b)
  copy.writeUInt32LE(0, 4)
  return crc32c(copy) === b.readUInt32LE(4)
}

interface Parsed {
  blockSize: number
  virtualSize: number
  logical: number
  physical: number
  page83: Buffer
  bat: Buffer
  batOffset: number
  batLength: number
  fileWriteGuid: Buffer
  dataWriteGuid: Buffer
}

/** Reads a VHDX the way the spec lays it out, checking what a reader must check. */
function parseVhdx(t: Test, file: Buffer): Parsed {
  t.equal(file.toString('latin1', 0, 8), 'vhdxfile')
  t.equal(file.toString('utf16le', 8, 16), 'keel')
  const h1 = file.subarray(64 * KiB, 68 * KiB)
  const h2 = file.subarray(128 * KiB, 132 * KiB)
  for (const h of [h1, h2]) {
    t.equal(h.toString('latin1', 0, 4), 'head')
    t.ok(crcOk(h), 'header checksum')
    t.ok(h.subarray(48, 64).equals(Buffer.alloc(16)), 'LogGuid zero: empty log')
    t.equal(h.readUInt16LE(64), 0, 'log version')
    t.equal(h.readUInt16LE(66), 1, 'version')
    t.equal(h.readUInt32LE(68), MiB, 'log length')
    t.equal(h.readBigUInt64LE(72), BigInt(MiB), 'log offset')
  }
  t.not(h1.readBigUInt64LE(8), h2.readBigUInt64LE(8), 'distinct sequence numbers')
  t.ok(h1.subarray(16, 48).equals(h2.subarray(16, 48)), 'same GUIDs in both')
  const r1 = file.subarray(192 * KiB, 256 * KiB)
  t.ok(r1.equals(file.subarray(256 * KiB, 320 * KiB)), 'two identical region tables')
  t.equal(r1.toString('latin1', 0, 4), 'regi')
  t.ok(crcOk(r1), 'region table checksum')
  t.equal(r1.readUInt32LE(8), 2)
  const regions = new Map<string, { offset: number; length: number }>()
  for (let i = 0; i < 2; i++) {
    const e = r1.subarray(16 + i * 32, 48 + i * 32)
    t.equal(e.readUInt32LE(28), 1, 'required')
    const offset = Number(e.readBigUInt64LE(16))
    const length = e.readUInt32LE(24)
    t.equal(offset % MiB, 0)
    t.equal(length % MiB, 0)
    regions.set(e.subarray(0, 16).toString('hex'), { offset, length })
  }
  const bat = regions.get(VHDX_GUID.bat.toString('hex'))!
  const md = regions.get(VHDX_GUID.metadata.toString('hex'))!
  t.ok(bat && md, 'BAT and metadata regions')
  const m = file.subarray(md.offset, md.offset + md.length)
  t.equal(m.toString('latin1', 0, 8), 'metadata')
  const items = new Map<string, Buffer>()
  const flags = new Map<string, number>()
  for (let i = 0; i < m.readUInt16LE(10); i++) {
    const e = m.subarray(32 + i * 32, 64 + i * 32)
    const off = e.readUInt32LE(16)
    t.ok(off >= 64 * KiB, 'item offset past the table')
    const key = e.subarray(0, 16).toString('hex')
    items.set(key, m.subarray(off, off + e.readUInt32LE(20)))
    flags.set(key, e.readUInt32LE(24))
  }
  const item = (g: Buffer): Buffer => items.get(g.toString('hex'))!
  t.equal(flags.get(VHDX_GUID.fileParameters.toString('hex')), 4, 'file parameters: required')
  for (const g of [VHDX_GUID.virtualDiskSize, VHDX_GUID.page83, VHDX_GUID.logicalSectorSize, VHDX_GUID.physicalSectorSize]) {
    t.equal(flags.get(g.toString('hex')), 6, 'virtual disk, required')
  }
  t.equal(item(VHDX_GUID.fileParameters).readUInt32LE(4), 0, 'no parent, blocks not kept allocated')
  return {
    blockSize: item(VHDX_GUID.fileParameters).readUInt32LE(0),
    virtualSize: Number(item(VHDX_GUID.virtualDiskSize).readBigUInt64LE(0)),
    logical: item(VHDX_GUID.logicalSectorSize).readUInt32LE(0),
    physical: item(VHDX_GUID.physicalSectorSize).readUInt32LE(0),
    page83: item(VHDX_GUID.page83),
    bat: file.subarray(bat.offset, bat.offset + bat.length),
    batOffset: bat.offset,
    batLength: bat.length,
    fileWriteGuid: h1.subarray(16, 32),
    dataWriteGuid: h1.subarray(32, 48),
  }
}

t.test('the well-known GUIDs are stored in Microsoft layout', async (t) => {
  t.equal(VHDX_GUID.virtualDiskSize.toString('hex'), '2442a52f1bcd7648b2115dbed83bf4b8')
  t.ok(VHDX_GUID.fileParameters.equals(guidBytes(parseUuid('caa16737-fa36-4d43-b3b6-33f0aa44e76b'))))
})

t.test('BAT sizing interleaves a sector bitmap entry every chunk ratio', async (t) => {
  t.equal(chunkRatio(32 * MiB), 128)
  t.equal(chunkRatio(MiB), 4096)
  t.equal(batEntries(64 * MiB, 32 * MiB), 2)
  t.equal(batEntries(128 * 32 * MiB, 32 * MiB), 128, 'exactly one chunk: no bitmap entry')
  t.equal(batEntries(128 * 32 * MiB + 1, 32 * MiB), 130, 'one block more: a bitmap entry, then it')
})

for (const blockSize of [MiB, 32 * MiB]) {
  t.test(`VHDX with ${blockSize / MiB} MiB blocks: qemu-img checks it and reads it back bit for bit`, async (t) => {
    const dir = t.testdir()
    for (const rawSize of [64 * MiB, 64 * MiB + 1000]) {
      const raw = makeRaw(dir, rawSize, `disk-${rawSize}.raw`)
      const out = join(dir, `disk-${rawSize}.vhdx`)
      const started = Date.now()
      await writeVhdx(raw, out, { epoch: 1700000000, blockSize })
      t.comment(`VHDX (${blockSize / MiB} MiB blocks) of ${rawSize} bytes in ${Date.now() - started} ms`)
      const size = Math.ceil(rawSize / 512) * 512

      const file = readFileSync(out)
      const p = parseVhdx(t, file)
      t.equal(p.blockSize, blockSize)
      t.equal(p.virtualSize, size, 'virtual size: raw rounded to a sector')
      t.equal(p.logical, 512)
      t.equal(p.physical, 4096)
      t.match(p.page83.toString('hex'), /^[0-9a-f]{14}4[0-9a-f][89ab]/, 'page 83 ID is version-4 shaped (GUID layout)')
      t.notOk(p.fileWriteGuid.equals(p.dataWriteGuid))
      const blocks = Math.ceil(size / blockSize)
      t.ok(p.batLength >= batEntries(size, blockSize) * 8)
      const allocated: number[] = []
      for (let i = 0; i < blocks; i++) {
        const e = p.bat.readBigUInt64LE((i + Math.floor(i / chunkRatio(blockSize))) * 8)
        if ((e & 7n) === 6n) allocated.push(i)
        else t.equal(e, 0n, `block ${i} not present`)
      }
      t.same(allocated, touchedBlocks(rawSize, blockSize), 'only blocks with data are allocated')
      if (blockSize === MiB) t.same(allocated, [0, 1, 2, 10, 11, 12, 13, 31, 32, 40, rawSize > 64 * MiB ? 64 : 63])
      t.equal(file.length, p.batOffset + p.batLength + allocated.length * blockSize, 'file ends after the last block')

      const info = qemuInfo(out)
      t.equal(info.format, 'vhdx')
      t.equal(info['virtual-size'], size)
      const check = qemuCheck(out, 'vhdx')
      t.equal(check.status, 0, 'qemu-img check passes')
      t.match(check.out, /No errors were found/)
      const back = qemuToRaw(out, 'vhdx', join(dir, `back-${rawSize}.raw`))
      t.equal(statSync(back).size, size)
      t.equal(await sha256File(back), await sha256Padded(raw, size), 'the raw data (and zeros to the sector)')
    }
  })
}

t.test('bad block sizes are refused', async (t) => {
  const dir = t.testdir()
  const raw = makeRaw(dir, MiB)
  for (const blockSize of [512 * KiB, 3 * MiB, 512 * MiB, 1.5]) {
    await t.rejects(writeVhdx(raw, join(dir, 'x.vhdx'), { epoch: 0, blockSize }), { name: 'UserError', message: /block size/ })
  }
})
