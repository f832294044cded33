import t, { type Test } from 'tap'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { OutputSet } from '../files.js'
import { vmdkCid, vmdkExtentName, vmdkGeometry, vmdkLayout, vmdkUuidString, writeVmdk } from './vmdk.js'
import { makeRaw, MiB, qemuCheck, qemuInfo, qemuToRaw, sha256File, sha256Padded, touchedBlocks } from './testing.js'

const GRAIN = 64 * 1024

t.test('geometry: 255x63 for lsilogic, 16x63 (at most 16383 cylinders) for ide', async (t) => {
  const cap = (64 * MiB) / 512
  t.same(vmdkGeometry(cap, 'lsilogic'), { cylinders: 8, heads: 255, sectors: 63 })
  t.same(vmdkGeometry(cap, 'ide'), { cylinders: 130, heads: 16, sectors: 63 })
  t.same(vmdkGeometry(100 * 1024 * 2048, 'ide'), { cylinders: 16383, heads: 16, sectors: 63 }, 'capped')
  t.same(vmdkGeometry(2 * 1024 * 1024 * 2048 - 1, 'lsilogic'), { cylinders: 267349, heads: 255, sectors: 63 })
  for (const c of [cap, 12345678, 999]) {
    const g = vmdkGeometry(c, 'lsilogic')
    t.ok(g.cylinders * g.heads * g.sectors <= c || g.cylinders === 1, 'never more than the capacity (but at least a cylinder)')
    t.ok((g.cylinders + 1) * g.heads * g.sectors > c, 'and no cylinder short')
  }
})

t.test('CID and uuid text', async (t) => {
  t.equal(vmdkCid(Buffer.from('12345678', 'hex')), 0x12345678)
  t.equal(vmdkCid(Buffer.from('ffffffff', 'hex')), 0xfefefefe, 'never the no-parent value')
  t.equal(vmdkCid(Buffer.from('00000000', 'hex')), 0x01010101)
  t.equal(vmdkUuidString(Buffer.from('6000c29bf4ee3c9aa0425c3c6a811e4f', 'hex')), '60 00 c2 9b f4 ee 3c 9a-a0 42 5c 3c 6a 81 1e 4f')
})

t.test('layout: grain directories and tables fit before the first grain', async (t) => {
  const l = vmdkLayout((64 * MiB) / 512, 700)
  t.same(l, { capacity: 131072, descriptorOffset: 1, descriptorSize: 20, numGTs: 2, rgdOffset: 21, gdOffset: 30, overHead: 128 })
  const big = vmdkLayout(2 ** 31, 700) // 1 TiB: 32768 tables
  t.equal(big.numGTs, 32768)
  t.equal(big.overHead % 128, 0)
  t.ok(big.overHead >= big.gdOffset + 256 + 32768 * 4)
})

interface Sparse {
  header: Buffer
  descriptor: string
  grains: number[]
}

function parseSparse(t: Test, file: Buffer): Sparse {
  const h = file.subarray(0, 512)
  t.equal(h.toString('latin1', 0, 4), 'KDMV')
  t.equal(h.readUInt32LE(4), 1, 'version 1')
  t.equal(h.readUInt32LE(8), 3, 'flags: newline test, redundant GT')
  t.equal(h.readBigUInt64LE(20), 128n, 'grain: 128 sectors')
  t.equal(h.readUInt32LE(44), 512, 'GTEs per GT')
  t.equal(h.toString('latin1', 73, 77), '\n \r\n')
  t.equal(h[72], 0, 'clean')
  const capacity = Number(h.readBigUInt64LE(12))
  const dOff = Number(h.readBigUInt64LE(28))
  const dSize = Number(h.readBigUInt64LE(36))
  const descriptor = file.subarray(dOff * 512, (dOff + dSize) * 512).toString('utf8').replace(/\0+$/, '')
  const rgd = Number(h.readBigUInt64LE(48))
  const gd = Number(h.readBigUInt64LE(56))
  const overHead = Number(h.readBigUInt64LE(64))
  t.equal(overHead % 128, 0, 'grains start grain-aligned')
  const numGTs = Math.ceil(capacity / 128 / 512)
  const grains: number[] = []
  const tables = (dir: number): number[] => {
    const out: number[] = []
    for (let i = 0; i < numGTs; i++) {
      const gt = file.readUInt32LE(dir * 512 + i * 4)
      t.ok(gt > 0 && gt + 4 <= overHead, 'grain table inside the metadata')
      for (let j = 0; j < 512; j++) out.push(file.readUInt32LE(gt * 512 + j * 4))
    }
    return out
  }
  const primary = tables(gd)
  t.same(tables(rgd), primary, 'the redundant tables say the same')
  primary.forEach((sector, i) => {
    if (sector === 0) return
    t.ok(sector >= overHead && (sector + 128) * 512 <= file.length, `grain ${i} inside the file`)
    grains.push(i)
  })
  return { header: h, descriptor, grains }
}

t.test('VMDK: qemu-img checks it and reads it back bit for bit', async (t) => {
  const dir = t.testdir()
  for (const rawSize of [64 * MiB, 64 * MiB + 1000]) {
    const raw = makeRaw(dir, rawSize, `disk-${rawSize}.raw`)
    const out = join(dir, `disk-${rawSize}.vmdk`)
    const started = Date.now()
    await writeVmdk(raw, out, { epoch: 1700000000 })
    t.comment(`VMDK of ${rawSize} bytes in ${Date.now() - started} ms`)
    const size = Math.ceil(rawSize / 512) * 512

    const file = readFileSync(out)
    const s = parseSparse(t, file)
    t.equal(Number(s.header.readBigUInt64LE(12)), size / 512, 'capacity: raw rounded to a sector')
    t.same(s.grains, touchedBlocks(rawSize, GRAIN), 'only grains with data are allocated')
    const cid = /^CID=([0-9a-f]{8})$/m.exec(s.descriptor)?.[1]
    t.ok(cid, 'a CID')
    t.match(s.descriptor, /^# Disk DescriptorFile\nversion=1\n/)
    t.match(s.descriptor, /^parentCID=ffffffff$/m)
    t.match(s.descriptor, /^createType="monolithicSparse"$/m)
    t.match(s.descriptor, new RegExp(`^RW ${size / 512} SPARSE "disk-${rawSize}.vmdk"$`, 'm'))
    t.match(s.descriptor, /^ddb.adapterType = "lsilogic"$/m)
    t.match(s.descriptor, /^ddb.uuid = "([0-9a-f]{2} ){7}[0-9a-f]{2}-([0-9a-f]{2} ){7}[0-9a-f]{2}"$/m)
    const g = vmdkGeometry(size / 512, 'lsilogic')
    t.match(s.descriptor, new RegExp(`^ddb.geometry.cylinders = "${g.cylinders}"\nddb.geometry.heads = "255"\nddb.geometry.sectors = "63"$`, 'm'))

    const info = qemuInfo(out)
    t.equal(info.format, 'vmdk')
    t.equal(info['virtual-size'], size)
    const data = info['format-specific']?.data as { cid: number; 'parent-cid': number; 'create-type': string; extents: Array<{ 'cluster-size': number }> }
    t.equal(data['create-type'], 'monolithicSparse')
    t.equal(data.cid, parseInt(cid!, 16), 'qemu reads our CID')
    t.equal(data['parent-cid'], 0xffffffff)
    t.equal(data.extents[0]?.['cluster-size'], GRAIN)
    const check = qemuCheck(out, 'vmdk')
    t.equal(check.status, 0, 'qemu-img check passes')
    t.match(check.out, /No errors were found/)
    const back = qemuToRaw(out, 'vmdk', join(dir, `back-${rawSize}.raw`))
    t.equal(statSync(back).size, size)
    t.equal(await sha256File(back), await sha256Padded(raw, size), 'the raw data (and zeros to the sector)')
  }
})

t.test('adapter type ide and bad names', async (t) => {
  const dir = t.testdir()
  const raw = makeRaw(dir, 64 * MiB)
  const out = join(dir, 'ide.vmdk')
  await writeVmdk(raw, out, { epoch: 0, adapterType: 'ide' })
  const s = parseSparse(t, readFileSync(out))
  t.match(s.descriptor, /^ddb.adapterType = "ide"\nddb.uuid/m)
  t.match(s.descriptor, /^ddb.geometry.cylinders = "130"\nddb.geometry.heads = "16"\n/m)
  t.equal(qemuCheck(out, 'vmdk').status, 0)
  await t.rejects(writeVmdk(raw, join(dir, 'a"b.vmdk'), { epoch: 0 }), { name: 'UserError', message: /cannot go in its descriptor/ })
  await t.rejects(writeVmdk(raw, join(dir, 'x.vmdk'), { epoch: 0, adapterType: 'buslogic' as 'ide' }), { name: 'UserError', message: /adapter type/ })
})

t.test('the extent name is the final name, also when writing to a keel temporary name', async (t) => {
  t.equal(vmdkExtentName('/x/disk.vmdk'), 'disk.vmdk')
  t.equal(vmdkExtentName('/x/.disk.vmdk.1234.0a1b2c3d.tmp'), 'disk.vmdk')
  t.equal(vmdkExtentName('/x/.hidden.vmdk'), '.hidden.vmdk')
  const dir = t.testdir()
  const raw = makeRaw(dir, 4 * MiB)
  const bytes: Buffer[] = []
  for (const sub of ['a', 'b']) {
    const set = new OutputSet()
    const final = join(dir, `${sub}-out.vmdk`)
    const tmp = await set.reserve(final)
    await writeVmdk(raw, tmp, { epoch: 0, fileName: sub === 'a' ? undefined : 'a-out.vmdk' })
    await set.commit()
    const file = readFileSync(final)
    t.match(parseSparse(t, file).descriptor, /^RW 8192 SPARSE "a-out.vmdk"$/m)
    bytes.push(file)
    if (sub === 'a') continue
    t.ok(bytes[0]!.equals(bytes[1]!), 'an explicit fileName gives the same bytes')
  }
  await t.rejects(writeVmdk(raw, join(dir, 'x.vmdk'), { epoch: 0, fileName: 'sub/dir.vmdk' }), { name: 'UserError' })
})
