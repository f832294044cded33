import t from 'tap'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { OutputSet } from './files.js'
import { copyInto } from './kernel-initrd.js'

t.test('two output sets linking one boot file to the same name leave only that name', async (t) => {
  const dir = t.testdir({ scratch: {}, out: {} })
  const source = join(dir, 'scratch', 'kernel')
  writeFileSync(source, 'bzImage')
  for (let i = 0; i < 2; i++) {
    const set = new OutputSet()
    await copyInto(set, source, join(dir, 'out', 'x-kernel'))
    t.same(await set.commit(), [join(dir, 'out', 'x-kernel')])
  }
  t.same(readdirSync(join(dir, 'out')), ['x-kernel'], 'no temporary name left behind')
  t.equal(readFileSync(join(dir, 'out', 'x-kernel'), 'utf8'), 'bzImage')
})

t.test('an aborted set leaves nothing', async (t) => {
  const dir = t.testdir({ out: {} })
  const set = new OutputSet()
  await set.create(join(dir, 'out', 'a'))
  await set.reserve(join(dir, 'out', 'b'))
  await set.abort()
  t.same(readdirSync(join(dir, 'out')), [])
})
