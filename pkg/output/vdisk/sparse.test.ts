// A large, mostly empty raw disk converts quickly into small files.
import t from 'tap'
import { closeSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { writeDynamicVhd, writeFixedVhd, writeVhdx, writeVmdk } from './index.js'
import { vhdVirtualSize } from './vhd.js'
import { MiB, pseudoRandom, qemuCheck, qemuCompare } from './testing.js'

const GiB = 1024 * MiB

/** Whether the filesystem under `dir` keeps holes (then fixed VHDs stay small on disk too). */
function holesWork(dir: string): boolean {
  const p = join(dir, 'hole-probe')
  const fd = openSync(p, 'w')
  ftruncateSync(fd, 64 * MiB)
  closeSync(fd)
  return statSync(p).blocks * 512 < MiB
}

t.test('a 1 GiB mostly-zero disk: fast, small, and the same content', async (t) => {
  const dir = t.testdir()
  const raw = join(dir, 'big.raw')
  const fd = openSync(raw, 'w')
  ftruncateSync(fd, GiB)
  writeSync(fd, pseudoRandom(34 * 512, 'partition table'), 0, 34 * 512, 0)
  writeSync(fd, pseudoRandom(64 * 1024, 'some file'), 0, 64 * 1024, 512 * MiB)
  writeSync(fd, pseudoRandom(33 * 512, 'backup GPT'), 0, 33 * 512, GiB - 33 * 512)
  closeSync(fd)
  const sparseFs = holesWork(dir)

  const cases = [
    { name: 'fixed.vhd', format: 'vpc', write: writeFixedVhd, maxSize: vhdVirtualSize(GiB) + 512 },
    { name: 'dynamic.vhd', format: 'vpc', write: writeDynamicVhd, maxSize: 8 * MiB },
    { name: 'disk.vhdx', format: 'vhdx', write: writeVhdx, maxSize: 8 * MiB },
    { name: 'disk32.vhdx', format: 'vhdx', write: (r: string, o: string) => writeVhdx(r, o, { epoch: 0, blockSize: 32 * MiB }), maxSize: 4 * MiB + 3 * 32 * MiB },
    { name: 'disk.vmdk', format: 'vmdk', write: writeVmdk, maxSize: 1 * MiB },
  ]
  for (const c of cases) {
    const out = join(dir, c.name)
    const started = process.hrtime.bigint()
    await c.write(raw, out, { epoch: 0 })
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    const st = statSync(out)
    t.comment(`${c.name}: ${ms.toFixed(0)} ms, ${(st.size / MiB).toFixed(2)} MiB, ${(st.blocks * 512 / MiB).toFixed(2)} MiB on disk`)
    t.ok(ms < 20000, `${c.name} converts in well under 20 s`)
    t.ok(st.size <= c.maxSize, `${c.name} is ${st.size} bytes, at most ${c.maxSize}`)
    if (sparseFs) t.ok(st.blocks * 512 <= 8 * MiB, `${c.name} takes at most 8 MiB on disk`)
    const cmp = qemuCompare(raw, out, c.format)
    t.equal(cmp.status, 0, `${c.name}: qemu-img compare finds the same content (${cmp.out.trim()})`)
    if (c.format !== 'vpc') t.equal(qemuCheck(out, c.format).status, 0, `${c.name}: qemu-img check passes`)
  }
})
