// The same raw bytes and options give the same output bytes, whatever the
// folder, the time or the time zone; the epoch only reaches timestamp fields
// and the seed only ID fields.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { writeDynamicVhd, writeFixedVhd, writeVhdx, writeVmdk, type VdiskOptions } from './index.js'
import { vhdVirtualSize } from './vhd.js'
import { diffRanges, makeRaw, MiB, sha256File } from './testing.js'

const KiB = 1024
const EPOCH = 1700000000
const RAW_SIZE = 64 * MiB + 1000
const OUTPUTS = ['fixed.vhd', 'dynamic.vhd', 'disk.vhdx', 'disk.vmdk'] as const

async function writeAll(raw: string, dir: string, o: VdiskOptions): Promise<void> {
  await writeFixedVhd(raw, join(dir, 'fixed.vhd'), o)
  await writeDynamicVhd(raw, join(dir, 'dynamic.vhd'), o)
  await writeVhdx(raw, join(dir, 'disk.vhdx'), o)
  await writeVmdk(raw, join(dir, 'disk.vmdk'), o)
}

/** Runs the writers in a fresh node process with another time zone and locale, a clock and Math.random that must not be used. */
function writeAllInChild(raw: string, dir: string, o: VdiskOptions): void {
  const index = new URL('./index.ts', import.meta.url).pathname
  const script = `
    Date.now = () => { throw new Error('Date.now used') }
    Math.random = () => { throw new Error('Math.random used') }
    const v = await import(${JSON.stringify(index)})
    const o = ${JSON.stringify(o)}
    for (const [name, w] of [['fixed.vhd', v.writeFixedVhd], ['dynamic.vhd', v.writeDynamicVhd], ['disk.vhdx', v.writeVhdx], ['disk.vmdk', v.writeVmdk]]) {
      await w(${JSON.stringify(raw)}, ${JSON.stringify(dir)} + '/' + name, o)
    }`
  execFileSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], {
    env: { ...process.env, TZ: 'Pacific/Chatham', LC_ALL: 'C', LANG: 'de_DE.UTF-8' },
    stdio: 'inherit',
  })
}

function mkdir(dir: string): string {
  mkdirSync(dir, { recursive: true })
  return dir
}

/** True if every range lies inside one of the allowed [start, end) ranges. */
function within(ranges: Array<[number, number]>, allowed: Array<[number, number]>): boolean {
  return ranges.every(([s, e]) => allowed.some(([a, b]) => s >= a && e <= b))
}

t.test('same input, another folder, time and time zone: the same bytes', async (t) => {
  const root = t.testdir()
  const a = mkdir(join(root, 'a'))
  const b = mkdir(join(root, 'elsewhere', 'b'))
  const raw = makeRaw(a, RAW_SIZE, 'input.raw')
  process.env.TZ = 'America/St_Johns'
  await writeAll(raw, a, { epoch: EPOCH })
  delete process.env.TZ
  await sleep(1100) // past a second boundary, so a clock timestamp would show
  const rawCopy = join(b, 'copy-of-input.raw')
  copyFileSync(raw, rawCopy)
  writeAllInChild(rawCopy, b, { epoch: EPOCH })
  for (const name of OUTPUTS) t.equal(await sha256File(join(b, name)), await sha256File(join(a, name)), name)
  t.same(readdirSync(b).sort(), ['copy-of-input.raw', ...OUTPUTS].sort(), 'no temporary files left')
})

t.test('another epoch changes only timestamps; another seed only IDs', async (t) => {
  const root = t.testdir()
  const base = mkdir(join(root, 'base'))
  const epoch = mkdir(join(root, 'epoch'))
  const seed = mkdir(join(root, 'seed'))
  const raw = makeRaw(base, RAW_SIZE, 'input.raw')
  await writeAll(raw, base, { epoch: EPOCH })
  await writeAll(raw, epoch, { epoch: EPOCH + 86400 * 365 })
  await writeAll(raw, seed, { epoch: EPOCH, seed: 'another machine' })
  const diff = (dir: string, name: string): Array<[number, number]> => diffRanges(readFileSync(join(base, name)), readFileSync(join(dir, name)))
  const vhdSize = vhdVirtualSize(RAW_SIZE)
  const dynEnd = readFileSync(join(base, 'dynamic.vhd')).length - 512

  // VHD: the footer timestamp (24..28) and checksum (64..68); unique ID (68..84) and checksum.
  const fixedEpoch = diff(epoch, 'fixed.vhd')
  t.ok(fixedEpoch.length > 0, 'a fixed VHD changes with the epoch')
  t.ok(within(fixedEpoch, [[vhdSize + 24, vhdSize + 28], [vhdSize + 64, vhdSize + 68]]), 'only in its timestamp and checksum')
  const dynEpoch = diff(epoch, 'dynamic.vhd')
  t.ok(dynEpoch.length > 0, 'a dynamic VHD changes with the epoch')
  t.ok(within(dynEpoch, [[24, 28], [64, 68], [dynEnd + 24, dynEnd + 28], [dynEnd + 64, dynEnd + 68]]), 'dynamic VHD: both footers, timestamp and checksum only')
  t.same(diff(epoch, 'disk.vhdx'), [], 'VHDX has no timestamps')
  t.same(diff(epoch, 'disk.vmdk'), [], 'VMDK has no timestamps')

  t.ok(within(diff(seed, 'fixed.vhd'), [[vhdSize + 64, vhdSize + 84]]), 'fixed VHD: unique ID and checksum only')
  t.ok(within(diff(seed, 'dynamic.vhd'), [[64, 84], [dynEnd + 64, dynEnd + 84]]), 'dynamic VHD: unique ID and checksum only')
  const vhdxSeed = diff(seed, 'disk.vhdx')
  const headerIds = (at: number): Array<[number, number]> => [[at + 4, at + 8], [at + 16, at + 48]]
  const page83 = 2 * MiB + 64 * KiB + 16
  t.ok(within(vhdxSeed, [...headerIds(64 * KiB), ...headerIds(128 * KiB), [page83, page83 + 16]]), 'VHDX: header GUIDs, their checksums, page 83 data only')
  t.ok(vhdxSeed.some(([s]) => s >= page83), 'the page 83 ID changed too')
  const vmdkSeed = diff(seed, 'disk.vmdk')
  t.ok(vmdkSeed.length > 0 && within(vmdkSeed, [[512, 21 * 512]]), 'VMDK: the descriptor (CID, uuid) only')
})
