import t from 'tap'
import { lstatSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { writeOutput } from './raw.js'
import { writeVmdk } from './vmdk.js'
import { makeRaw, MiB } from './testing.js'

t.test('a failed write leaves no temporary file and the old output whole', async (t) => {
  const dir = t.testdir({ 'disk.vhdx': 'previous build' })
  await t.rejects(writeOutput(join(dir, 'disk.vhdx'), async (fh) => {
    await fh.write(Buffer.from('half a disk'), 0, 11, 0)
    throw new Error('disk full')
  }), { message: /^writing .*disk\.vhdx: disk full$/ })
  t.same(readdirSync(dir), ['disk.vhdx'])
  t.equal(readFileSync(join(dir, 'disk.vhdx'), 'utf8'), 'previous build')
})

t.test('an output path that is a symlink is replaced, not followed', async (t) => {
  const dir = t.testdir({ target: 'do not touch' })
  symlinkSync(join(dir, 'target'), join(dir, 'disk.vmdk'))
  await writeVmdk(makeRaw(dir, MiB), join(dir, 'disk.vmdk'), { epoch: 0 })
  t.equal(readFileSync(join(dir, 'target'), 'utf8'), 'do not touch')
  t.notOk(lstatSync(join(dir, 'disk.vmdk')).isSymbolicLink())
})

t.test('no writer reads the clock or a random source (outside temporary names)', async (t) => {
  const dir = new URL('.', import.meta.url).pathname
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'testing.ts')) {
    const src = readFileSync(join(dir, f), 'utf8').replace(/^\s*\/\/.*$/gm, '')
    t.notMatch(src, /\bDate\b|Math\.random|randomUUID|performance\.now|hrtime/, `${f}: no clock, no Math.random`)
    const random = src.match(/randomBytes\(/g) ?? []
    t.ok(f === 'raw.ts' ? random.length === 1 : random.length === 0, `${f}: randomBytes only for the temporary file name`)
  }
})
