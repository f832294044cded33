import t from 'tap'
import { execFileSync } from 'node:child_process'
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  chsSectors, VHD_MAX_CHS_SECTORS, vhdChecksum, vhdDynamicHeader, vhdFooter, vhdGeometry, vhdTimestamp, vhdVirtualSize,
  writeDynamicVhd, writeFixedVhd,
} from './vhd.js'
import { makeRaw, MiB, touchedBlocks, qemuCheck, qemuInfo, qemuToRaw, qemuVpcSize, sha256File, sha256Padded } from './testing.js'

const GiB = 1024 * MiB
const EPOCH = 1700000000

function readTail(path: string, n: number): Buffer {
  const size = statSync(path).size
  const fd = openSync(path, 'r')
  const b = Buffer.alloc(n)
  readSync(fd, b, 0, n, size - n)
  closeSync(fd)
  return b
}

/** A plain byte sum, as the spec words the checksum. */
function specChecksum(buf: Buffer, at: number): number {
  const copy = Buffer.from(buf)
  copy.fill(0, at, at + 4)
  let sum = 0
  for (const x of copy) sum += x
  return (~sum) >>> 0
}

t.test('CHS geometry follows the spec algorithm', async (t) => {
  t.same(vhdGeometry(131072), { cylinders: 963, heads: 8, sectorsPerTrack: 17 }, '64 MiB')
  t.same(vhdGeometry(4194304), { cylinders: 4161, heads: 16, sectorsPerTrack: 63 }, '2 GiB')
  t.same(vhdGeometry(VHD_MAX_CHS_SECTORS), { cylinders: 65535, heads: 16, sectorsPerTrack: 255 }, 'the largest')
  t.same(vhdGeometry(VHD_MAX_CHS_SECTORS * 4), { cylinders: 65535, heads: 16, sectorsPerTrack: 255 }, 'clamped past it')
  t.same(vhdGeometry(65535 * 16 * 63), { cylinders: 16191, heads: 16, sectorsPerTrack: 255 }, 'the 255-sector boundary is >=')
  t.same(vhdGeometry(1), { cylinders: 0, heads: 4, sectorsPerTrack: 17 })
})

t.test('CHS geometry agrees with the footers qemu-img create writes', async (t) => {
  const dir = t.testdir()
  // Sizes below 65535*16*63 sectors, where qemu's rounding rule matches the spec's.
  for (const size of [1 * MiB, 10 * MiB, 64 * MiB, 100 * MiB, 1000 * MiB, 3 * GiB + 5 * MiB, 20 * GiB, 31 * GiB]) {
    const path = join(dir, `q${size}.vhd`)
    execFileSync('qemu-img', ['create', '-q', '-f', 'vpc', path, String(size)])
    const footer = readFileSync(path).subarray(0, 512)
    const theirs = { cylinders: footer.readUInt16BE(56), heads: footer[58], sectorsPerTrack: footer[59] }
    // qemu grows the sector count until the geometry covers the size, then uses that geometry's size.
    let n = size / 512
    while (chsSectors(vhdGeometry(n)) < size / 512) n++
    t.same(vhdGeometry(n), theirs, `${size / MiB} MiB`)
    t.equal(Number(footer.readBigUInt64BE(48)), chsSectors(vhdGeometry(n)) * 512, 'its current size is that geometry\'s')
    t.equal(vhdChecksum(footer, 64), footer.readUInt32BE(64), 'and our checksum matches theirs')
  }
})

t.test('the virtual size is a multiple of 1 MiB that the CHS geometry describes exactly', async (t) => {
  const MAX = VHD_MAX_CHS_SECTORS * 512
  const sizes = [1, 511, 512, MiB, 64 * MiB, 64 * MiB + 1000, GiB, 10 * GiB, 65535 * 16 * 63 * 512 - 1, 100 * GiB, MAX - MiB, MAX - 1, MAX, MAX + 1, 300 * GiB]
  for (let s = MiB; s < 140 * GiB; s += 13 * MiB + 4096) sizes.push(s)
  let worst = 0
  let ok = 0
  for (const raw of sizes) {
    const v = vhdVirtualSize(raw)
    const sectors = v / 512
    const good = v >= raw && v % MiB === 0 && (sectors >= VHD_MAX_CHS_SECTORS || chsSectors(vhdGeometry(sectors)) === sectors)
    if (good) ok++
    else t.fail(`size ${raw} → ${v}`)
    worst = Math.max(worst, v - Math.ceil(raw / MiB) * MiB)
  }
  t.equal(ok, sizes.length, `all ${sizes.length} sizes`)
  t.ok(worst <= 255 * MiB, `padding at most 255 MiB over 1 MiB rounding (worst seen ${worst / MiB} MiB)`)
  t.equal(vhdVirtualSize(64 * MiB), 155 * MiB, '64 MiB becomes 155 MiB: 640 x 16 x 31 sectors')
  t.same(vhdGeometry(155 * 2048), { cylinders: 640, heads: 16, sectorsPerTrack: 31 })
  t.equal(vhdVirtualSize(155 * MiB), 155 * MiB, 'a size that fits is kept')
  t.equal(vhdVirtualSize(GiB), 1071 * MiB, '1 GiB becomes 1071 MiB: 2176 x 16 x 63')
  t.equal(vhdVirtualSize(MAX + 1), Math.ceil((MAX + 1) / MiB) * MiB, 'past the largest geometry: 1 MiB rounding only')
})

t.test('footer and dynamic header fields and checksums', async (t) => {
  const uniqueId = Buffer.from('00112233445566778899aabbccddeeff', 'hex')
  const f = vhdFooter({ diskType: 2, timestamp: vhdTimestamp(EPOCH), size: 155 * MiB, uniqueId })
  t.equal(f.length, 512)
  t.equal(f.toString('latin1', 0, 8), 'conectix')
  t.equal(f.readUInt32BE(8), 2, 'features')
  t.equal(f.readUInt32BE(12), 0x10000, 'version')
  t.equal(f.readBigUInt64BE(16), 0xffffffffffffffffn, 'fixed: no data offset')
  t.equal(f.readUInt32BE(24), EPOCH - 946684800, 'seconds since 2000')
  t.equal(f.toString('latin1', 28, 32), 'keel')
  t.equal(f.readBigUInt64BE(40), BigInt(155 * MiB), 'original size')
  t.equal(f.readBigUInt64BE(48), BigInt(155 * MiB), 'current size')
  t.equal(f.readUInt16BE(56) * f[58]! * f[59]! * 512, 155 * MiB, 'geometry = size')
  t.throws(() => vhdFooter({ diskType: 2, timestamp: 0, size: 64 * MiB, uniqueId }), /not one its geometry describes/)
  t.equal(f.readUInt32BE(60), 2, 'fixed')
  t.equal(f.subarray(68, 84).toString('hex'), '33221100554477668899aabbccddeeff', 'unique ID, GUID layout')
  t.equal(f.readUInt32BE(64), specChecksum(f, 64), 'checksum')
  t.equal(vhdTimestamp(0), 0, 'epochs before 2000 are 2000')
  t.throws(() => vhdTimestamp(946684800 + 2 ** 32), /past what a VHD timestamp holds/)

  const h = vhdDynamicHeader(1536, 33)
  t.equal(h.length, 1024)
  t.equal(h.toString('latin1', 0, 8), 'cxsparse')
  t.equal(h.readBigUInt64BE(16), 1536n)
  t.equal(h.readUInt32BE(28), 33)
  t.equal(h.readUInt32BE(32), 2 * MiB)
  t.equal(h.readUInt32BE(36), specChecksum(h, 36), 'checksum')
})

t.test('fixed VHD: qemu-img reads it back bit for bit', async (t) => {
  const dir = t.testdir()
  for (const rawSize of [64 * MiB, 64 * MiB + 1000]) {
    const raw = makeRaw(dir, rawSize, `disk-${rawSize}.raw`)
    const out = join(dir, `disk-${rawSize}.vhd`)
    const started = Date.now()
    await writeFixedVhd(raw, out, { epoch: EPOCH })
    t.comment(`fixed VHD of ${rawSize} bytes in ${Date.now() - started} ms`)
    const size = vhdVirtualSize(rawSize)
    t.equal(statSync(out).size, size + 512, 'data, zero padding, footer')

    const footer = readTail(out, 512)
    t.equal(footer.toString('latin1', 0, 8), 'conectix')
    t.equal(footer.readUInt32BE(60), 2)
    t.equal(footer.readBigUInt64BE(48), BigInt(size))
    t.equal(footer.readUInt32BE(64), specChecksum(footer, 64))

    // A fixed VHD has its cookie only at the end; qemu probes the start, so it must be told the format.
    t.equal(qemuInfo(out).format, 'raw', 'probing sees raw: pass -f vpc')
    const info = qemuInfo(out, 'vpc')
    t.equal(info.format, 'vpc')
    t.equal(info['virtual-size'], size, 'qemu (which takes the size from CHS for a "keel" creator) agrees on the size')
    t.equal(qemuVpcSize(out, 'chs'), size, 'the CHS geometry (Virtual PC, qemu) gives the size')
    t.equal(qemuVpcSize(out, 'current_size'), size, 'so does Current Size (Hyper-V, Azure)')
    t.equal(qemuCheck(out, 'vpc').status, 63, 'qemu-img cannot check vpc images (exit 63, "does not support checks")')

    const back = qemuToRaw(out, 'vpc', join(dir, `back-${rawSize}.raw`))
    t.equal(statSync(back).size, size)
    t.equal(await sha256File(back), await sha256Padded(raw, size), 'the raw data, then zeros')
  }
})

t.test('dynamic VHD: qemu-img reads it back bit for bit; zero blocks stay unallocated', async (t) => {
  const dir = t.testdir()
  for (const rawSize of [64 * MiB, 64 * MiB + 1000]) {
    const raw = makeRaw(dir, rawSize, `disk-${rawSize}.raw`)
    const out = join(dir, `disk-${rawSize}.vhd`)
    const started = Date.now()
    await writeDynamicVhd(raw, out, { epoch: EPOCH })
    t.comment(`dynamic VHD of ${rawSize} bytes in ${Date.now() - started} ms`)
    const size = vhdVirtualSize(rawSize)
    const file = readFileSync(out)

    const footer = file.subarray(file.length - 512)
    t.same(file.subarray(0, 512), footer, 'the footer copy at the start')
    t.equal(footer.readUInt32BE(60), 3, 'dynamic')
    t.equal(footer.readBigUInt64BE(16), 512n, 'header at 512')
    t.equal(footer.readUInt32BE(64), specChecksum(footer, 64))
    const header = file.subarray(512, 1536)
    t.equal(header.readUInt32BE(36), specChecksum(header, 36))
    const entries = header.readUInt32BE(28)
    t.equal(entries, Math.ceil(size / (2 * MiB)))
    const bat = file.subarray(1536, 1536 + entries * 4)
    const used = [...Array(entries).keys()].filter((i) => bat.readUInt32BE(i * 4) !== 0xffffffff)
    t.same(used, touchedBlocks(rawSize, 2 * MiB), 'only blocks with data are allocated')
    // Data at 0, 1 MiB, 2 MiB-7 (blocks 0, 1), 10..13 MiB+ (5, 6), 32 MiB-3 (15, 16), 40 MiB+64K (20), the last sector.
    t.same(used, [0, 1, 5, 6, 15, 16, 20, rawSize > 64 * MiB ? 32 : 31])
    t.equal(file.length, 1536 + Math.ceil(entries * 4 / 512) * 512 + used.length * (2 * MiB + 512) + 512)
    for (const i of used) {
      const at = bat.readUInt32BE(i * 4) * 512
      t.ok(file.subarray(at, at + 512).equals(Buffer.alloc(512, 0xff)), `block ${i}: bitmap all set`)
    }

    const info = qemuInfo(out)
    t.equal(info.format, 'vpc', 'qemu probes it as vpc')
    t.equal(info['virtual-size'], size)
    t.equal(qemuVpcSize(out, 'chs'), size, 'CHS size')
    t.equal(qemuVpcSize(out, 'current_size'), size, 'Current Size')
    const back = qemuToRaw(out, 'vpc', join(dir, `back-${rawSize}.raw`))
    t.equal(await sha256File(back), await sha256Padded(raw, size), 'the raw data, then zeros')
  }
})

t.test('bad input is refused clearly', async (t) => {
  const dir = t.testdir({ 'empty.raw': '' })
  const raw = makeRaw(dir, MiB)
  await t.rejects(writeFixedVhd(join(dir, 'missing.raw'), join(dir, 'x.vhd'), { epoch: 0 }), { name: 'UserError', message: /cannot open the raw disk image/ })
  await t.rejects(writeFixedVhd(join(dir, 'empty.raw'), join(dir, 'x.vhd'), { epoch: 0 }), { name: 'UserError', message: /is empty/ })
  await t.rejects(writeFixedVhd(dir, join(dir, 'x.vhd'), { epoch: 0 }), { name: 'UserError', message: /not a regular file/ })
  await t.rejects(writeFixedVhd(raw, raw, { epoch: 0 }), { name: 'UserError', message: /would overwrite the raw image/ })
  await t.rejects(writeDynamicVhd(raw, join(dir, 'x.vhd'), { epoch: -1 }), { name: 'UserError', message: /epoch/ })
  await t.rejects(writeDynamicVhd(raw, join(dir, 'x.vhd'), { epoch: 1.5 }), { name: 'UserError', message: /epoch/ })
  await t.rejects(writeDynamicVhd(raw, join(dir, 'no', 'such', 'x.vhd'), { epoch: 0 }), { name: 'UserError', message: /cannot create/ })
})
